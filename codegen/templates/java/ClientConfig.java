package org.mlflowclient.runtime;

import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Everything a client is configured with, read from the same environment variables as MLflow's Python
 * client (an empty variable counts as unset). Values are parsed strictly; a bad value raises an {@link
 * MlflowException} with code {@code INVALID_PARAMETER_VALUE} that names the variable. {@link #toString()}
 * shows {@code ***} for the password and token.
 *
 * <pre>{@code
 * ClientConfig config = ClientConfig.fromEnv();                       // System.getenv()
 * ClientConfig custom = ClientConfig.builder().trackingUri("http://localhost:5000").maxRetries(3).build();
 * }</pre>
 */
public final class ClientConfig {
    /** Where the server is: an http(s) URL. */
    public static final String TRACKING_URI = "MLFLOW_TRACKING_URI";
    public static final String USERNAME = "MLFLOW_TRACKING_USERNAME";
    public static final String PASSWORD = "MLFLOW_TRACKING_PASSWORD";
    public static final String TOKEN = "MLFLOW_TRACKING_TOKEN";
    public static final String INSECURE_TLS = "MLFLOW_TRACKING_INSECURE_TLS";
    public static final String SERVER_CERT_PATH = "MLFLOW_TRACKING_SERVER_CERT_PATH";
    public static final String CLIENT_CERT_PATH = "MLFLOW_TRACKING_CLIENT_CERT_PATH";
    public static final String MAX_RETRIES = "MLFLOW_HTTP_REQUEST_MAX_RETRIES";
    public static final String BACKOFF_FACTOR = "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR";
    public static final String BACKOFF_JITTER = "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER";
    public static final String TIMEOUT = "MLFLOW_HTTP_REQUEST_TIMEOUT";
    public static final String ALLOW_REDIRECTS = "MLFLOW_ALLOW_HTTP_REDIRECTS";
    public static final String MAX_RETRY_AFTER = "MLFLOW_CLIENT_MAX_RETRY_AFTER";
    public static final String MAX_RETRY_TIME = "MLFLOW_CLIENT_MAX_RETRY_TIME";

    private static final Pattern INT = Pattern.compile("\\s*[+-]?[0-9]+\\s*");

    private final String trackingUri;
    private final String username;
    private final String password;
    private final String token;
    private final boolean insecureTls;
    private final String serverCertPath;
    private final String clientCertPath;
    private final int maxRetries;
    private final double backoffFactor;
    private final double backoffJitter;
    private final double timeout;
    private final boolean allowRedirects;
    private final double maxRetryAfter;
    private final double maxRetryTime;

    private ClientConfig(Builder b) {
        trackingUri = b.trackingUri;
        username = b.username;
        password = b.password;
        token = b.token;
        insecureTls = b.insecureTls;
        serverCertPath = b.serverCertPath;
        clientCertPath = b.clientCertPath;
        maxRetries = b.maxRetries;
        backoffFactor = b.backoffFactor;
        backoffJitter = b.backoffJitter;
        timeout = b.timeout;
        allowRedirects = b.allowRedirects;
        maxRetryAfter = b.maxRetryAfter;
        maxRetryTime = b.maxRetryTime;
        if ((username == null) != (password == null)) {
            String given = username == null ? PASSWORD : USERNAME;
            String missing = username == null ? USERNAME : PASSWORD;
            throw invalid("HTTP Basic auth needs both a username and a password: " + given + " is set but "
                    + missing + " is missing");
        }
        if (insecureTls && serverCertPath != null) {
            throw invalid(INSECURE_TLS + " and " + SERVER_CERT_PATH + " cannot be used together: either verify "
                    + "the server's certificate against a CA bundle or skip verification");
        }
        if (maxRetries < 0) {
            throw invalid(MAX_RETRIES + " must be a whole number >= 0, got " + maxRetries);
        }
        checkNumber(BACKOFF_FACTOR, backoffFactor, true);
        checkNumber(BACKOFF_JITTER, backoffJitter, true);
        checkNumber(MAX_RETRY_AFTER, maxRetryAfter, true);
        checkNumber(TIMEOUT, timeout, false);
        checkNumber(MAX_RETRY_TIME, maxRetryTime, false);
    }

    /** The configuration from {@code System.getenv()}. */
    public static ClientConfig fromEnv() {
        return fromEnv(System.getenv());
    }

    /** The configuration from the given variables (tests, or a map of your own). */
    public static ClientConfig fromEnv(Map<String, String> env) {
        return builder().fromEnv(env).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this configuration's values, to change some of them. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.trackingUri = trackingUri;
        b.username = username;
        b.password = password;
        b.token = token;
        b.insecureTls = insecureTls;
        b.serverCertPath = serverCertPath;
        b.clientCertPath = clientCertPath;
        b.maxRetries = maxRetries;
        b.backoffFactor = backoffFactor;
        b.backoffJitter = backoffJitter;
        b.timeout = timeout;
        b.allowRedirects = allowRedirects;
        b.maxRetryAfter = maxRetryAfter;
        b.maxRetryTime = maxRetryTime;
        return b;
    }

    public String trackingUri() {
        return trackingUri;
    }

    public String username() {
        return username;
    }

    String password() {
        return password;
    }

    String token() {
        return token;
    }

    public boolean hasPassword() {
        return password != null;
    }

    public boolean hasToken() {
        return token != null;
    }

    public boolean insecureTls() {
        return insecureTls;
    }

    public String serverCertPath() {
        return serverCertPath;
    }

    public String clientCertPath() {
        return clientCertPath;
    }

    public int maxRetries() {
        return maxRetries;
    }

    public double backoffFactor() {
        return backoffFactor;
    }

    public double backoffJitter() {
        return backoffJitter;
    }

    /** Seconds to wait for each answer (connecting gets at most 10 s). */
    public double timeout() {
        return timeout;
    }

    public boolean allowRedirects() {
        return allowRedirects;
    }

    public double maxRetryAfter() {
        return maxRetryAfter;
    }

    public double maxRetryTime() {
        return maxRetryTime;
    }

    /** {@code "basic"}, {@code "bearer"} or {@code null}; Basic wins when both are configured. */
    public String authScheme() {
        if (username != null) {
            return "basic";
        }
        return token != null ? "bearer" : null;
    }

    @Override
    public String toString() {
        return "ClientConfig(trackingUri=" + trackingUri + ", username=" + username + ", password="
                + (password == null ? "null" : "***") + ", token=" + (token == null ? "null" : "***")
                + ", insecureTls=" + insecureTls + ", serverCertPath=" + serverCertPath + ", clientCertPath="
                + clientCertPath + ", maxRetries=" + maxRetries + ", backoffFactor=" + backoffFactor
                + ", backoffJitter=" + backoffJitter + ", timeout=" + timeout + ", allowRedirects=" + allowRedirects
                + ", maxRetryAfter=" + maxRetryAfter + ", maxRetryTime=" + maxRetryTime + ")";
    }

    static MlflowException invalid(String message) {
        return new MlflowException(message, "INVALID_PARAMETER_VALUE", null);
    }

    private static void checkNumber(String name, double value, boolean allowZero) {
        if (Double.isFinite(value) && (allowZero ? value >= 0 : value > 0)) {
            return;
        }
        throw invalid(name + " must be a number " + (allowZero ? ">= 0" : "> 0") + ", got " + value);
    }

    static boolean parseBool(String value, String name) {
        String lowered = value.trim().toLowerCase(Locale.ROOT);
        if (lowered.equals("true") || lowered.equals("1")) {
            return true;
        }
        if (lowered.equals("false") || lowered.equals("0")) {
            return false;
        }
        throw invalid(name + " must be one of true, false, 1, 0 (any case), got '" + value + "'");
    }

    static int parseInt(String value, String name) {
        if (!INT.matcher(value).matches()) {
            throw invalid(name + " must be a whole number, got '" + value + "'");
        }
        try {
            return Integer.parseInt(value.trim().replace("+", ""));
        } catch (NumberFormatException e) {
            throw invalid(name + " must be a whole number, got '" + value + "'");
        }
    }

    static double parseDouble(String value, String name) {
        double number;
        try {
            number = Double.parseDouble(value.trim());
        } catch (NumberFormatException e) {
            throw invalid(name + " must be a number, got '" + value + "'");
        }
        if (!Double.isFinite(number)) {
            throw invalid(name + " must be a finite number, got '" + value + "'");
        }
        return number;
    }

    /** Collects values; {@link #build()} validates them together. */
    public static final class Builder {
        private String trackingUri;
        private String username;
        private String password;
        private String token;
        private boolean insecureTls;
        private String serverCertPath;
        private String clientCertPath;
        private int maxRetries = 7;
        private double backoffFactor = 2.0;
        private double backoffJitter = 1.0;
        private double timeout = 120.0;
        private boolean allowRedirects = true;
        private double maxRetryAfter = 60.0;
        private double maxRetryTime = 600.0;

        private Builder() {}

        /** Sets every value whose variable is set (and not empty) in {@code env}. */
        public Builder fromEnv(Map<String, String> env) {
            String v;
            if ((v = get(env, TRACKING_URI)) != null) {
                trackingUri = v;
            }
            if ((v = get(env, USERNAME)) != null) {
                username = v;
            }
            if ((v = get(env, PASSWORD)) != null) {
                password = v;
            }
            if ((v = get(env, TOKEN)) != null) {
                token = v;
            }
            if ((v = get(env, INSECURE_TLS)) != null) {
                insecureTls = parseBool(v, INSECURE_TLS);
            }
            if ((v = get(env, SERVER_CERT_PATH)) != null) {
                serverCertPath = v;
            }
            if ((v = get(env, CLIENT_CERT_PATH)) != null) {
                clientCertPath = v;
            }
            if ((v = get(env, MAX_RETRIES)) != null) {
                maxRetries = parseInt(v, MAX_RETRIES);
            }
            if ((v = get(env, BACKOFF_FACTOR)) != null) {
                backoffFactor = parseDouble(v, BACKOFF_FACTOR);
            }
            if ((v = get(env, BACKOFF_JITTER)) != null) {
                backoffJitter = parseDouble(v, BACKOFF_JITTER);
            }
            if ((v = get(env, TIMEOUT)) != null) {
                timeout = parseDouble(v, TIMEOUT);
            }
            if ((v = get(env, ALLOW_REDIRECTS)) != null) {
                allowRedirects = parseBool(v, ALLOW_REDIRECTS);
            }
            if ((v = get(env, MAX_RETRY_AFTER)) != null) {
                maxRetryAfter = parseDouble(v, MAX_RETRY_AFTER);
            }
            if ((v = get(env, MAX_RETRY_TIME)) != null) {
                maxRetryTime = parseDouble(v, MAX_RETRY_TIME);
            }
            return this;
        }

        private static String get(Map<String, String> env, String name) {
            String value = env.get(name);
            return value == null || value.trim().isEmpty() ? null : value;
        }

        public Builder trackingUri(String value) {
            trackingUri = value;
            return this;
        }

        public Builder basicAuth(String user, String pass) {
            username = user;
            password = pass;
            return this;
        }

        public Builder token(String value) {
            token = value;
            return this;
        }

        public Builder insecureTls(boolean value) {
            insecureTls = value;
            return this;
        }

        public Builder serverCertPath(String value) {
            serverCertPath = value;
            return this;
        }

        public Builder clientCertPath(String value) {
            clientCertPath = value;
            return this;
        }

        public Builder maxRetries(int value) {
            maxRetries = value;
            return this;
        }

        public Builder backoffFactor(double value) {
            backoffFactor = value;
            return this;
        }

        public Builder backoffJitter(double value) {
            backoffJitter = value;
            return this;
        }

        public Builder timeout(double seconds) {
            timeout = seconds;
            return this;
        }

        public Builder allowRedirects(boolean value) {
            allowRedirects = value;
            return this;
        }

        public Builder maxRetryAfter(double seconds) {
            maxRetryAfter = seconds;
            return this;
        }

        public Builder maxRetryTime(double seconds) {
            maxRetryTime = seconds;
            return this;
        }

        public ClientConfig build() {
            return new ClientConfig(this);
        }
    }
}
