// Copied by `python -m codegen` from codegen/templates/java/MlflowException.java. Do not edit; edit the template.
package org.mlflowclient.runtime;

/**
 * An error of an MLflow operation: an error answer of the server, a refused configuration, or no answer
 * at all ({@link MlflowConnectionException}).
 *
 * <p>{@link #getErrorCode()} is the name of an MLflow error code ({@code "RESOURCE_DOES_NOT_EXIST"}); {@link
 * #getHttpStatus()} is the status the server answered with, or {@code null} when no server answered.
 * Messages never contain passwords or tokens.
 */
public class MlflowException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String errorCode;
    private final Integer httpStatus;
    private final String body;

    public MlflowException(String message, String errorCode, Integer httpStatus) {
        this(message, errorCode, httpStatus, "", null);
    }

    public MlflowException(String message, String errorCode, Integer httpStatus, String body, Throwable cause) {
        super(message, cause);
        this.errorCode = errorCode == null ? "INTERNAL_ERROR" : errorCode;
        this.httpStatus = httpStatus;
        this.body = body == null ? "" : body;
    }

    /** The MLflow error code's name, e.g. {@code "RESOURCE_DOES_NOT_EXIST"}. */
    public String getErrorCode() {
        return errorCode;
    }

    /** The HTTP status of the server's answer, or {@code null} when there was no answer. */
    public Integer getHttpStatus() {
        return httpStatus;
    }

    /** The server's answer (at most 2000 characters, secrets removed), or {@code ""}. */
    public String getBody() {
        return body;
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "(" + getMessage() + ", errorCode=" + errorCode + ", httpStatus="
                + httpStatus + ")";
    }
}
