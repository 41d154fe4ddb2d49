package com.example.hello;

import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Request counts by status code and a latency histogram, rendered in the Prometheus text format
 * (what a Micrometer or client_java registry would expose), with nothing but the JDK.
 */
final class Metrics {

    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    private static final double[] BUCKETS = {
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5
    };

    private final Map<Integer, LongAdder> requests = new ConcurrentSkipListMap<>();
    private final LongAdder[] buckets = new LongAdder[BUCKETS.length];
    private final LongAdder count = new LongAdder();
    private final LongAdder sumNanos = new LongAdder();

    Metrics() {
        for (int i = 0; i < buckets.length; i++) {
            buckets[i] = new LongAdder();
        }
    }

    /** One answered request: its status code and how long it took. */
    void record(int status, long nanos) {
        requests.computeIfAbsent(status, s -> new LongAdder()).increment();
        double seconds = nanos / 1e9;
        for (int i = 0; i < BUCKETS.length; i++) {
            if (seconds <= BUCKETS[i]) {
                buckets[i].increment();
            }
        }
        count.increment();
        sumNanos.add(nanos);
    }

    String render() {
        StringBuilder out = new StringBuilder();
        out.append("# HELP http_server_requests_total Requests answered, by status code.\n");
        out.append("# TYPE http_server_requests_total counter\n");
        requests.forEach((status, n) -> out.append("http_server_requests_total{code=\"")
                .append(status).append("\"} ").append(n.sum()).append('\n'));
        String name = "http_server_request_duration_seconds";
        out.append("# HELP ").append(name).append(" Time to answer a request.\n");
        out.append("# TYPE ").append(name).append(" histogram\n");
        for (int i = 0; i < BUCKETS.length; i++) {
            out.append(name).append("_bucket{le=\"").append(BUCKETS[i]).append("\"} ")
                    .append(buckets[i].sum()).append('\n');
        }
        long total = count.sum();
        out.append(name).append("_bucket{le=\"+Inf\"} ").append(total).append('\n');
        out.append(name).append("_sum ").append(sumNanos.sum() / 1e9).append('\n');
        out.append(name).append("_count ").append(total).append('\n');
        return out.toString();
    }
}
