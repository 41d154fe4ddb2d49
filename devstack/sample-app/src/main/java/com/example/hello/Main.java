package com.example.hello;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/**
 * The sample service Rollway builds and rolls out: it says which version it is and answers the
 * Spring Boot actuator health paths that Kubernetes probes use, with nothing but the JDK.
 */
public final class Main {

    private static final Set<String> HEALTH_PATHS =
            Set.of("/actuator/health", "/actuator/health/readiness", "/actuator/health/liveness");

    private Main() {}

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
        HttpServer server = HttpServer.create(new InetSocketAddress(port), 0);
        server.createContext("/", Main::handle);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> server.stop(0)));
        server.start();
        System.out.println("hello " + Version.VALUE + " listening on port " + port);
    }

    private static void handle(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getPath();
        if (path.equals("/")) {
            reply(exchange, 200, "text/plain; charset=utf-8", "hello " + Version.VALUE);
        } else if (HEALTH_PATHS.contains(path)) {
            reply(exchange, 200, "application/json", "{\"status\":\"UP\"}");
        } else {
            reply(exchange, 404, "text/plain; charset=utf-8", "not found");
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
