// Copied by `python -m codegen` from codegen/templates/java/RetryPolicy.java. Do not edit; edit the template.
package org.mlflowclient.runtime;

import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.net.http.HttpConnectTimeoutException;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import javax.net.ssl.SSLException;

/**
 * Which failures are retried, how often, and how long to wait: the rules of MLflow's Python client.
 *
 * <p>Retry 1 goes at once; retry {@code n >= 2} waits {@code backoffFactor * 2^(n-1) + uniform(0,
 * backoffJitter)} seconds, at most 120 s. A {@code Retry-After} header (seconds or an HTTP date) replaces
 * the backoff, capped at {@code maxRetryAfter}. No retry starts whose wait would end more than {@code
 * maxRetryTime} seconds after the first attempt began.
 *
 * <p>Retried: connection failures, timeouts, and HTTP 429, 500, 502, 503, 504; never any other status. A
 * request that must not run twice (an RPC with {@code retry_safe = false}, such as createRun) is retried
 * only when it surely did not reach the server (connecting failed), or when the server turned it away
 * unprocessed with 429/503 and a {@code Retry-After}. TLS failures are configuration errors and are not
 * retried.
 */
public final class RetryPolicy {
    /** Longest backoff between two attempts, in seconds. */
    public static final double BACKOFF_MAX = 120.0;
    /** Statuses worth another attempt. */
    public static final Set<Integer> RETRY_STATUSES = Set.of(429, 500, 502, 503, 504);
    private static final Set<Integer> REFUSED_STATUSES = Set.of(429, 503);

    private final int maxRetries;
    private final double backoffFactor;
    private final double backoffJitter;
    private final double maxRetryAfter;
    private final double maxRetryTime;

    public RetryPolicy(int maxRetries, double backoffFactor, double backoffJitter, double maxRetryAfter,
            double maxRetryTime) {
        this.maxRetries = maxRetries;
        this.backoffFactor = backoffFactor;
        this.backoffJitter = backoffJitter;
        this.maxRetryAfter = maxRetryAfter;
        this.maxRetryTime = maxRetryTime;
    }

    public static RetryPolicy fromConfig(ClientConfig config) {
        return new RetryPolicy(config.maxRetries(), config.backoffFactor(), config.backoffJitter(),
                config.maxRetryAfter(), config.maxRetryTime());
    }

    public int maxRetries() {
        return maxRetries;
    }

    public double maxRetryTime() {
        return maxRetryTime;
    }

    /** Seconds to wait before retry {@code retryNumber} (1-based) when the server named no time. */
    public double backoff(int retryNumber) {
        if (retryNumber <= 1) {
            return 0.0;
        }
        double value = backoffFactor * Math.pow(2.0, retryNumber - 1)
                + ThreadLocalRandom.current().nextDouble() * backoffJitter;
        return Math.max(0.0, Math.min(BACKOFF_MAX, value));
    }

    /** The wait before retry {@code retryNumber}: the server's Retry-After if positive, else the backoff. */
    public double delay(int retryNumber, Double retryAfter) {
        if (retryAfter != null && retryAfter > 0) {
            return retryAfter;
        }
        return backoff(retryNumber);
    }

    /** Seconds from a Retry-After value (delta-seconds or HTTP date), capped; {@code null} if unusable. */
    public Double parseRetryAfter(String value) {
        if (value == null) {
            return null;
        }
        String text = value.trim();
        double seconds;
        try {
            seconds = Double.parseDouble(text);
        } catch (NumberFormatException notNumber) {
            try {
                ZonedDateTime when = ZonedDateTime.parse(text, DateTimeFormatter.RFC_1123_DATE_TIME);
                seconds = (when.toInstant().toEpochMilli() - System.currentTimeMillis()) / 1000.0;
            } catch (DateTimeParseException notDate) {
                return null;
            }
        }
        if (Double.isNaN(seconds)) {
            return null;
        }
        return Math.max(0.0, Math.min(seconds, maxRetryAfter));
    }

    /** Whether an error answer with this status may be retried. */
    public boolean retriesStatus(int status, boolean idempotent, Double retryAfter) {
        if (!RETRY_STATUSES.contains(status)) {
            return false;
        }
        return idempotent || (REFUSED_STATUSES.contains(status) && retryAfter != null);
    }

    /** Whether a failure without an answer may be retried. */
    public boolean retriesError(IOException err, boolean idempotent) {
        if (neverReachedServer(err)) {
            return true;
        }
        if (find(err, SSLException.class) != null) {
            return false;
        }
        return idempotent;
    }

    /** Connecting failed, so the request surely never left: whatever it is, it may be sent again. */
    static boolean neverReachedServer(Throwable err) {
        if (find(err, SSLException.class) != null && find(err, EOFException.class) == null) {
            return false;
        }
        return find(err, ConnectException.class) != null || find(err, HttpConnectTimeoutException.class) != null
                || find(err, UnknownHostException.class) != null;
    }

    static <T extends Throwable> T find(Throwable err, Class<T> type) {
        int depth = 0;
        for (Throwable t = err; t != null && depth < 16; t = t.getCause(), depth++) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return "RetryPolicy(maxRetries=" + maxRetries + ", backoffFactor=" + backoffFactor + ", backoffJitter="
                + backoffJitter + ", maxRetryAfter=" + maxRetryAfter + ", maxRetryTime=" + maxRetryTime + ")";
    }
}
