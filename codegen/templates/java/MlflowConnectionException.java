package org.mlflowclient.runtime;

/**
 * No answer came: connecting failed (refused, DNS, TLS) or the server did not answer within the timeout.
 * {@link #getHttpStatus()} is {@code null}.
 */
public class MlflowConnectionException extends MlflowException {
    private static final long serialVersionUID = 1L;

    private final boolean timeout;

    public MlflowConnectionException(String message, boolean timeout, Throwable cause) {
        super(message, "INTERNAL_ERROR", null, "", cause);
        this.timeout = timeout;
    }

    /** Whether the request timed out (rather than failing to connect or breaking off). */
    public boolean isTimeout() {
        return timeout;
    }
}
