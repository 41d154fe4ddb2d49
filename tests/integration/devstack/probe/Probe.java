import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** What the real-node tests run inside pods (the JRE base image has no shell tools). */
public final class Probe {
    public static void main(String[] args) throws IOException {
        switch (args[0]) {
            case "dns" -> {
                for (InetAddress address : InetAddress.getAllByName(args[1])) {
                    System.out.println(address.getHostAddress());
                }
            }
            case "connect" -> {
                try (Socket socket = new Socket()) {
                    socket.connect(new InetSocketAddress(args[1], Integer.parseInt(args[2])), 20_000);
                    System.out.println("connected");
                } catch (IOException err) {
                    System.out.println("failed: " + err);
                    System.exit(3);
                }
            }
            case "get" -> {
                try (Socket socket = new Socket()) {
                    socket.connect(new InetSocketAddress(args[1], Integer.parseInt(args[2])), 20_000);
                    socket.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    System.out.print(new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
                }
            }
            case "serve" -> {
                String me = InetAddress.getLocalHost().getHostName();
                try (ServerSocket server = new ServerSocket(Integer.parseInt(args[1]))) {
                    while (true) {
                        try (Socket client = server.accept()) {
                            InputStream in = client.getInputStream();
                            in.read(new byte[4096]);
                            OutputStream out = client.getOutputStream();
                            out.write(("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nprobe " + me + "\n")
                                    .getBytes(StandardCharsets.UTF_8));
                        } catch (IOException err) {
                            System.out.println("client: " + err);
                        }
                    }
                }
            }
            default -> throw new IllegalArgumentException("unknown mode " + args[0]);
        }
    }
}
