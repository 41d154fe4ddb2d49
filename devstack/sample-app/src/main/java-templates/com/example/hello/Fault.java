package com.example.hello;

/**
 * How badly this build behaves, substituted at build time like the version: the devstack's bad
 * release is built from the same sources with a share of 5xx answers and added latency, so the
 * canary judge has a real regression to catch. A good build has both at 0.
 */
final class Fault {

    static final int ERROR_PERCENT = Integer.parseInt("${hello.fault.errorPercent}");
    static final int ADDED_LATENCY_MS = Integer.parseInt("${hello.fault.latencyMs}");

    private Fault() {}
}
