package com.example.hello;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The sample service Rollway builds and rolls out: it says which version it is and answers the
 * Spring Boot actuator health paths that Kubernetes probes use, with nothing but the JDK. It counts
 * the requests it serves (not probes or scrapes) on `/metrics` for the canary judge.
 */
public final class Main {

    private static final Set<String> HEALTH_PATHS =
            Set.of("/actuator/health", "/actuator/health/readiness", "/actuator/health/liveness");

    private static final Metrics METRICS = new Metrics();

    private Main() {}

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
        HttpServer server = HttpServer.create(new InetSocketAddress(port), 0);
        server.createContext("/", Main::handle);
        server.setExecutor(Executors.newFixedThreadPool(4));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> server.stop(0)));
        server.start();
        System.out.println("hello " + Version.VALUE + " listening on port " + port);
    }

    private static void handle(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getPath();
        if (path.equals("/")) {
            serve(exchange);
        } else if (path.equals("/metrics")) {
            reply(exchange, 200, Metrics.CONTENT_TYPE, METRICS.render());
        } else if (HEALTH_PATHS.contains(path)) {
            reply(exchange, 200, "application/json", "{\"status\":\"UP\"}");
        } else {
            reply(exchange, 404, "text/plain; charset=utf-8", "not found");
        }
    }

    /** The app's one page, measured; a bad build (see Fault) is slower and sometimes fails. */
    private static void serve(HttpExchange exchange) throws IOException {
        long started = System.nanoTime();
        int status = 200;
        try {
            if (Fault.ADDED_LATENCY_MS > 0) {
                Thread.sleep(Fault.ADDED_LATENCY_MS);
            }
            if (ThreadLocalRandom.current().nextInt(100) < Fault.ERROR_PERCENT) {
                status = 500;
                reply(exchange, status, "text/plain; charset=utf-8", "internal error");
            } else {
                reply(exchange, status, "text/plain; charset=utf-8", "hello " + Version.VALUE);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            status = 503;
            reply(exchange, status, "text/plain; charset=utf-8", "shutting down");
        } finally {
            METRICS.record(status, System.nanoTime() - started);
        }
    }

    private static void reply(HttpExchange exchange, int status, String type, String body)
            throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type);
        boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            if (!head) {
                out.write(bytes);
            }
        }
    }
}
