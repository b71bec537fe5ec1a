// Copied by `python -m codegen` from codegen/templates/java/HttpTransport.java. Do not edit; edit the template.
package org.mlflowclient.runtime;

import com.google.protobuf.Message;
import java.io.IOException;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import org.mlflowclient.proto.Errors;

/**
 * The one place where the client speaks HTTP: base URL, auth, TLS, timeouts, retries and error mapping,
 * over one {@link HttpClient} (HTTP/1.1, pooled connections). Thread-safe; share one per server.
 *
 * <p>Auth: Basic from {@code MLFLOW_TRACKING_USERNAME}/{@code MLFLOW_TRACKING_PASSWORD} (or credentials in
 * the URL), else Bearer from {@code MLFLOW_TRACKING_TOKEN}. Retries: see {@link RetryPolicy}.
 */
public final class HttpTransport implements AutoCloseable {
    /** Connecting gets at most this many seconds, whatever the request timeout. */
    public static final double DEFAULT_CONNECT_TIMEOUT = 10.0;
    private static final int MAX_BODY_CHARS = 2000;
    private static final int MAX_MESSAGE_BODY_CHARS = 300;
    private static final int MAX_REDIRECTS = 30;
    private static final String USER_AGENT = "mlflow-client-java/0.1.0";
    private static final System.Logger LOG = System.getLogger("org.mlflowclient");

    private final String baseUrl;
    private final ClientConfig config;
    private final RetryPolicy retryPolicy;
    private final String authHeader;
    private final String authScheme;
    private final List<String> secrets = new ArrayList<>();
    private final HttpClient client;

    /** A transport configured from the environment ({@code MLFLOW_TRACKING_URI} and friends). */
    public static HttpTransport fromEnv() {
        return new HttpTransport(ClientConfig.fromEnv());
    }

    /** A transport for {@code config.trackingUri()}. */
    public HttpTransport(ClientConfig config) {
        this(config.trackingUri(), config);
    }

    /** A transport for {@code trackingUri} (credentials and TLS settings from {@code config}). */
    public HttpTransport(String trackingUri, ClientConfig config) {
        if (trackingUri == null) {
            throw ClientConfig.invalid("no tracking server: set " + ClientConfig.TRACKING_URI
                    + " to its http(s):// URL");
        }
        if (!trackingUri.startsWith("http://") && !trackingUri.startsWith("https://")) {
            throw ClientConfig.invalid("a tracking server URL must start with http:// or https://, got "
                    + stripCredentials(trackingUri)[0]);
        }
        this.config = config;
        this.retryPolicy = RetryPolicy.fromConfig(config);
        String[] split = stripCredentials(trackingUri.replaceAll("/+$", ""));
        this.baseUrl = split[0];
        String user = config.username();
        String pass = config.password();
        if (user == null && config.token() == null && split[1] != null) {
            user = split[1];
            pass = split[2];
        }
        if (user != null) {
            String encoded = Base64.getEncoder().encodeToString((user + ":" + pass).getBytes(StandardCharsets.UTF_8));
            authHeader = "Basic " + encoded;
            authScheme = "basic";
            secrets.add(pass);
            secrets.add(encoded);
        } else if (config.token() != null) {
            authHeader = "Bearer " + config.token();
            authScheme = "bearer";
            secrets.add(config.token());
        } else {
            authHeader = null;
            authScheme = null;
        }
        HttpClient.Builder builder = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(seconds(Math.min(config.timeout(), DEFAULT_CONNECT_TIMEOUT)))
                .followRedirects(HttpClient.Redirect.NEVER); // followed here, so credentials stay on their origin
        SSLContext ssl = TlsSupport.fromConfig(config);
        if (ssl != null) {
            builder.sslContext(ssl);
        }
        this.client = builder.build();
    }

    public String baseUrl() {
        return baseUrl;
    }

    public ClientConfig config() {
        return config;
    }

    public RetryPolicy retryPolicy() {
        return retryPolicy;
    }

    /**
     * Sends a JSON request message and parses the answer into a message like {@code responseType}. With
     * {@code inQuery} the request's fields travel as query parameters (GET), else as a JSON body. A DELETE
     * with no fields beyond its path sends no body: MLflow reads a DELETE's fields from a JSON body only, as
     * its own client sends them.
     */
    @SuppressWarnings("unchecked")
    public <T extends Message> T callJson(String method, String path, boolean inQuery, Message request,
            T responseType, boolean idempotent) {
        byte[] answer;
        if (inQuery) {
            answer = send(method, path, JsonCodec.queryParams(request), null, null, idempotent);
        } else if ("DELETE".equals(method) && request.getAllFields().isEmpty()) {
            answer = send(method, path, List.of(), null, null, idempotent);
        } else {
            byte[] body = JsonCodec.toJson(request).getBytes(StandardCharsets.UTF_8);
            answer = send(method, path, List.of(), body, "application/json", idempotent);
        }
        Message.Builder builder = responseType.newBuilderForType();
        JsonCodec.merge(answer, builder);
        return (T) builder.build();
    }

    /** Sends raw bytes ({@code content}, may be null) and returns the raw answer (artifact up/download). */
    public byte[] callBinary(String method, String path, byte[] content, boolean idempotent) {
        return send(method, path, List.of(), content, content == null ? null : "application/octet-stream",
                idempotent);
    }

    /**
     * Sends one request, retrying as the policy says, and returns the body of its 2xx answer. Throws
     * {@link MlflowException} for an error answer and {@link MlflowConnectionException} when none came.
     */
    public byte[] send(String method, String path, List<Map.Entry<String, String>> query, byte[] body,
            String contentType, boolean idempotent) {
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException("path must start with '/', got " + path);
        }
        URI uri = URI.create(baseUrl + path + queryString(query));
        long started = System.nanoTime();
        int attempts = 0;
        while (true) {
            attempts++;
            MlflowException failure;
            boolean retry;
            Double retryAfter = null;
            String reason;
            try {
                HttpResponse<byte[]> response = sendFollowingRedirects(method, uri, body, contentType);
                int status = response.statusCode();
                if (status >= 200 && status < 300) {
                    return response.body();
                }
                retryAfter = retryPolicy.parseRetryAfter(response.headers().firstValue("Retry-After").orElse(null));
                retry = retryPolicy.retriesStatus(status, idempotent, retryAfter);
                failure = errorFromResponse(status, response.body(), method, path);
                reason = "HTTP " + status;
            } catch (IOException e) {
                retry = retryPolicy.retriesError(e, idempotent);
                failure = connectionError(e, method, path);
                reason = e.getClass().getSimpleName();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new MlflowConnectionException(method + " " + baseUrl + path + " was interrupted", false, e);
            }
            int retryNumber = attempts;
            double delay = retry ? retryPolicy.delay(retryNumber, retryAfter) : 0.0;
            double elapsed = (System.nanoTime() - started) / 1e9;
            if (!retry || retryNumber > retryPolicy.maxRetries() || elapsed + delay > retryPolicy.maxRetryTime()) {
                if (failure instanceof MlflowConnectionException && attempts > 1) {
                    MlflowConnectionException c = (MlflowConnectionException) failure;
                    throw new MlflowConnectionException(c.getMessage() + " (gave up after " + attempts + " attempts)",
                            c.isTimeout(), c.getCause());
                }
                throw failure;
            }
            LOG.log(System.Logger.Level.DEBUG, "retry {0}/{1} of {2} {3} in {4} s after {5}", retryNumber,
                    retryPolicy.maxRetries(), method, path, delay, reason);
            sleep(delay);
        }
    }

    /**
     * Sends one attempt, following redirects when allowed. 301/302 of a POST and any 303 continue as a GET
     * without a body (as browsers and Python's requests do); the Authorization header goes only to the
     * origin of the tracking URI.
     */
    private HttpResponse<byte[]> sendFollowingRedirects(String method, URI uri, byte[] body, String contentType)
            throws IOException, InterruptedException {
        URI origin = URI.create(baseUrl);
        for (int hop = 0; ; hop++) {
            boolean sameOrigin = sameOrigin(origin, uri);
            HttpResponse<byte[]> response = client.send(buildRequest(method, uri, body, contentType, sameOrigin),
                    HttpResponse.BodyHandlers.ofByteArray());
            int status = response.statusCode();
            String location = response.headers().firstValue("Location").orElse(null);
            boolean redirect = status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
            if (!redirect || location == null || !config.allowRedirects() || hop >= MAX_REDIRECTS) {
                return response;
            }
            URI next = uri.resolve(location);
            if (!"http".equals(next.getScheme()) && !"https".equals(next.getScheme())) {
                return response;
            }
            if (status == 303 || ((status == 301 || status == 302) && method.equals("POST"))) {
                method = "GET";
                body = null;
                contentType = null;
            }
            uri = next;
        }
    }

    private static boolean sameOrigin(URI a, URI b) {
        return a.getScheme().equalsIgnoreCase(b.getScheme()) && String.valueOf(a.getHost()).equalsIgnoreCase(
                String.valueOf(b.getHost())) && port(a) == port(b);
    }

    private static int port(URI uri) {
        if (uri.getPort() >= 0) {
            return uri.getPort();
        }
        return "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    }

    private static String queryString(List<Map.Entry<String, String>> query) {
        StringBuilder out = new StringBuilder();
        char sep = '?';
        for (Map.Entry<String, String> param : query) {
            out.append(sep).append(encodeQuery(param.getKey())).append('=').append(encodeQuery(param.getValue()));
            sep = '&';
        }
        return out.toString();
    }

    private HttpRequest buildRequest(String method, URI uri, byte[] body, String contentType, boolean withAuth) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(uri)
                .timeout(seconds(config.timeout()))
                .header("User-Agent", USER_AGENT)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) {
            builder.header("Content-Type", contentType);
        }
        if (authHeader != null && withAuth) {
            builder.header("Authorization", authHeader);
        }
        return builder.build();
    }

    private static void sleep(double seconds) {
        if (seconds <= 0) {
            return;
        }
        try {
            Thread.sleep((long) (seconds * 1000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MlflowConnectionException("interrupted while waiting to retry", false, e);
        }
    }

    /** The exception for a non-2xx answer: by the body's {@code error_code} first, by the status otherwise. */
    MlflowException errorFromResponse(int status, byte[] body, String method, String path) {
        String text = redact(new String(body, StandardCharsets.UTF_8));
        String code = null;
        String serverMessage = null;
        if (text.trim().startsWith("{")) {
            try {
                Errors.ErrorResponse.Builder parsed = Errors.ErrorResponse.newBuilder();
                JsonCodec.merge(text.getBytes(StandardCharsets.UTF_8), parsed);
                if (parsed.hasErrorCode() && !parsed.getErrorCode().isEmpty()
                        && !parsed.getErrorCode().chars().allMatch(Character::isDigit)) {
                    code = parsed.getErrorCode();
                    serverMessage = parsed.hasMessage() ? parsed.getMessage() : null;
                }
            } catch (MlflowException notErrorJson) {
                code = null;
            }
        }
        String kept = text.length() > MAX_BODY_CHARS ? text.substring(0, MAX_BODY_CHARS) : text;
        if (code != null) {
            String message = code + ": " + (serverMessage != null ? serverMessage : "Response: " + text);
            return new MlflowException(message, code, status, kept, null);
        }
        code = codeForStatus(status);
        String excerpt = String.join(" ", text.trim().split("\\s+"));
        if (excerpt.length() > MAX_MESSAGE_BODY_CHARS) {
            excerpt = excerpt.substring(0, MAX_MESSAGE_BODY_CHARS);
        }
        String message = code + ": API request to " + method + " " + path + " failed with HTTP " + status
                + ". Response body: '" + excerpt + "'";
        return new MlflowException(message, code, status, kept, null);
    }

    static String codeForStatus(int status) {
        switch (status) {
            case 400:
                return "BAD_REQUEST";
            case 401:
                return "UNAUTHENTICATED";
            case 403:
                return "PERMISSION_DENIED";
            case 404:
            case 405:
                return "ENDPOINT_NOT_FOUND";
            case 429:
                return "REQUEST_LIMIT_EXCEEDED";
            case 501:
                return "NOT_IMPLEMENTED";
            case 502:
            case 503:
                return "TEMPORARILY_UNAVAILABLE";
            case 504:
                return "DEADLINE_EXCEEDED";
            default:
                return status >= 400 && status < 500 ? "BAD_REQUEST" : "INTERNAL_ERROR";
        }
    }

    private MlflowConnectionException connectionError(IOException err, String method, String path) {
        String where = method + " " + baseUrl + path;
        String detail = redact(err.getClass().getSimpleName() + (err.getMessage() == null ? "" : ": "
                + err.getMessage()));
        if (err instanceof HttpTimeoutException && !RetryPolicy.neverReachedServer(err)) {
            return new MlflowConnectionException(where + " timed out; the timeout is " + config.timeout()
                    + " s (" + ClientConfig.TIMEOUT + "), " + DEFAULT_CONNECT_TIMEOUT + " s at most to connect",
                    true, err);
        }
        SSLException tls = RetryPolicy.find(err, SSLException.class);
        if (tls != null) {
            String hint = tls instanceof SSLHandshakeException && String.valueOf(tls.getMessage()).contains("PKIX")
                    ? "the server's certificate could not be verified; set " + ClientConfig.SERVER_CERT_PATH
                            + " to the CA bundle that signed it (or " + ClientConfig.INSECURE_TLS
                            + "=true to skip verification, unsafe)"
                    : "if the server requires a client certificate, set " + ClientConfig.CLIENT_CERT_PATH;
            return new MlflowConnectionException("TLS error on " + where + ": " + redact(String.valueOf(
                    tls.getMessage())) + "; " + hint, false, err);
        }
        return new MlflowConnectionException(where + " failed: " + detail, false, err);
    }

    private String redact(String text) {
        for (String secret : secrets) {
            if (secret != null && !secret.isEmpty()) {
                text = text.replace(secret, "***");
            }
        }
        return text;
    }

    private static Duration seconds(double value) {
        return Duration.ofNanos((long) (value * 1e9));
    }

    private static String encodeQuery(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** Percent-encodes a path parameter, keeping the slashes of a multi-segment path. */
    public static String encodePath(String value) {
        return encode(value, "-._~/");
    }

    /** Percent-encodes one path segment: unlike {@link #encodePath}, a slash is encoded too. */
    public static String encodeSegment(String value) {
        return encode(value, "-._~");
    }

    private static String encode(String value, String unreserved) {
        StringBuilder out = new StringBuilder();
        for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || unreserved.indexOf(c) >= 0) {
                out.append(c);
            } else {
                out.append('%').append(String.format("%02X", b & 0xff));
            }
        }
        return out.toString();
    }

    /** {@code http://user:pw@host/x} -> {url without credentials, user, password} (nulls when none). */
    private static String[] stripCredentials(String url) {
        int scheme = url.indexOf("://");
        int slash = url.indexOf('/', scheme + 3);
        String authority = slash < 0 ? url.substring(scheme + 3) : url.substring(scheme + 3, slash);
        int at = authority.lastIndexOf('@');
        if (at < 0) {
            return new String[] {url, null, null};
        }
        String userinfo = authority.substring(0, at);
        int colon = userinfo.indexOf(':');
        String user = URLDecoder.decode(colon < 0 ? userinfo : userinfo.substring(0, colon), StandardCharsets.UTF_8);
        String pass = colon < 0 ? "" : URLDecoder.decode(userinfo.substring(colon + 1), StandardCharsets.UTF_8);
        String rest = slash < 0 ? "" : url.substring(slash);
        return new String[] {url.substring(0, scheme + 3) + authority.substring(at + 1) + rest, user, pass};
    }

    /** Nothing to release: {@link HttpClient} frees its connections when unreachable. */
    @Override
    public void close() {}

    @Override
    public String toString() {
        return "HttpTransport(" + baseUrl + ", auth=" + (authScheme == null ? "none" : authScheme + " ***") + ")";
    }
}
