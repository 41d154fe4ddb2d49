package com.example.hello;

/** The artifact version, substituted at build time as templating-maven-plugin would. */
final class Version {

    static final String VALUE = "${project.version}";

    private Version() {}
}
