# The hand-written runtime of the R binding: settings, auth, TLS, retries, JSON encoding, errors and
# data.frame helpers. The generated functions in endpoints.R call .mlflow_call().

`%||%` <- function(a, b) if (is.null(a)) b else a

.MLFLOW_RETRY_STATUSES <- c(429L, 500L, 502L, 503L, 504L)
# With a Retry-After header these say the request was turned away unprocessed: safe even for creates.
.MLFLOW_REFUSED_STATUSES <- c(429L, 503L)
.MLFLOW_BACKOFF_MAX <- 120
.MLFLOW_CONNECT_TIMEOUT <- 10
.MLFLOW_STATUS_CODES <- c(
  "400" = "BAD_REQUEST", "401" = "UNAUTHENTICATED", "403" = "PERMISSION_DENIED",
  "404" = "ENDPOINT_NOT_FOUND", "405" = "ENDPOINT_NOT_FOUND", "429" = "REQUEST_LIMIT_EXCEEDED",
  "500" = "INTERNAL_ERROR", "501" = "NOT_IMPLEMENTED", "502" = "TEMPORARILY_UNAVAILABLE",
  "503" = "TEMPORARILY_UNAVAILABLE", "504" = "DEADLINE_EXCEEDED"
)

# -- conditions ---------------------------------------------------------------------------------------

.mlflow_condition <- function(class, message, ...) {
  structure(
    class = c(class, "error", "condition"),
    list(message = message, call = NULL, ...)
  )
}

.mlflow_config_error <- function(message) {
  stop(.mlflow_condition("mlflow_config_error", message))
}

# -- settings -----------------------------------------------------------------------------------------

.env <- function(name) {
  value <- Sys.getenv(name, unset = "")
  if (!nzchar(trimws(value))) NULL else value
}

.parse_bool <- function(value, name) {
  lowered <- tolower(trimws(value))
  if (lowered %in% c("true", "1")) return(TRUE)
  if (lowered %in% c("false", "0")) return(FALSE)
  .mlflow_config_error(sprintf("%s must be one of true, false, 1, 0 (any case), got '%s'", name, value))
}

.parse_int <- function(value, name) {
  if (!grepl("^\\s*[+-]?[0-9]+\\s*$", value)) {
    .mlflow_config_error(sprintf("%s must be a whole number, got '%s'", name, value))
  }
  as.numeric(value)
}

.parse_num <- function(value, name) {
  number <- suppressWarnings(as.numeric(trimws(value)))
  if (length(number) != 1 || !is.finite(number)) {
    .mlflow_config_error(sprintf("%s must be a finite number, got '%s'", name, value))
  }
  number
}

.setting <- function(given, var, parse = NULL) {
  if (!is.null(given)) return(given)
  raw <- .env(var)
  if (is.null(raw) || is.null(parse)) return(raw)
  parse(raw, var)
}

.split_credentials <- function(uri) {
  m <- regmatches(uri, regexec("^(https?://)([^/@]*)@(.*)$", uri))[[1]]
  if (length(m) == 0) return(list(uri = uri, username = NULL, password = NULL))
  user_info <- m[[3]]
  colon <- regexpr(":", user_info, fixed = TRUE)
  if (colon > 0) {
    user <- substr(user_info, 1, colon - 1)
    password <- substr(user_info, colon + 1, nchar(user_info))
  } else {
    user <- user_info
    password <- ""
  }
  list(uri = paste0(m[[2]], m[[4]]), username = utils::URLdecode(user), password = utils::URLdecode(password))
}

#' A connection to an MLflow tracking server
#'
#' Every argument left \code{NULL} comes from its environment variable, as in the Python client:
#' \code{MLFLOW_TRACKING_URI}, \code{MLFLOW_TRACKING_USERNAME} + \code{MLFLOW_TRACKING_PASSWORD} (HTTP
#' Basic; both or neither), \code{MLFLOW_TRACKING_TOKEN} (Bearer; Basic wins when both are set),
#' \code{MLFLOW_TRACKING_INSECURE_TLS}, \code{MLFLOW_TRACKING_SERVER_CERT_PATH} (CA bundle),
#' \code{MLFLOW_TRACKING_CLIENT_CERT_PATH} (PEM with client certificate and key),
#' \code{MLFLOW_HTTP_REQUEST_MAX_RETRIES} (7), \code{MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR} (2),
#' \code{MLFLOW_HTTP_REQUEST_BACKOFF_JITTER} (1), \code{MLFLOW_HTTP_REQUEST_TIMEOUT} (120 s),
#' \code{MLFLOW_ALLOW_HTTP_REDIRECTS} (true), \code{MLFLOW_CLIENT_MAX_RETRY_AFTER} (60 s),
#' \code{MLFLOW_CLIENT_MAX_RETRY_TIME} (600 s).
#'
#' Secrets are kept out of the object's printed form.
#' @return An object of class \code{mlflow_client}.
#' @export
mlflow_client <- function(tracking_uri = NULL, username = NULL, password = NULL, token = NULL,
                          insecure_tls = NULL, server_cert_path = NULL, client_cert_path = NULL,
                          max_retries = NULL, backoff_factor = NULL, backoff_jitter = NULL, timeout = NULL,
                          allow_redirects = NULL, max_retry_after = NULL, max_retry_time = NULL) {
  uri <- .setting(tracking_uri, "MLFLOW_TRACKING_URI")
  if (is.null(uri)) {
    .mlflow_config_error("no tracking server: pass tracking_uri or set MLFLOW_TRACKING_URI")
  }
  if (!grepl("^https?://", uri)) {
    .mlflow_config_error(sprintf("a tracking server URL must start with http:// or https://, got '%s'", uri))
  }
  split <- .split_credentials(sub("/+$", "", uri))
  username <- .setting(username, "MLFLOW_TRACKING_USERNAME")
  password <- .setting(password, "MLFLOW_TRACKING_PASSWORD")
  token <- .setting(token, "MLFLOW_TRACKING_TOKEN")
  if (is.null(username) != is.null(password)) {
    given <- if (is.null(password)) "username (MLFLOW_TRACKING_USERNAME)" else "password (MLFLOW_TRACKING_PASSWORD)"
    missing <- if (is.null(password)) "password (MLFLOW_TRACKING_PASSWORD)" else "username (MLFLOW_TRACKING_USERNAME)"
    .mlflow_config_error(sprintf("HTTP Basic auth needs both a username and a password: %s is set but %s is missing",
                                 given, missing))
  }
  insecure <- .setting(insecure_tls, "MLFLOW_TRACKING_INSECURE_TLS", .parse_bool) %||% FALSE
  server_cert <- .setting(server_cert_path, "MLFLOW_TRACKING_SERVER_CERT_PATH")
  client_cert <- .setting(client_cert_path, "MLFLOW_TRACKING_CLIENT_CERT_PATH")
  if (isTRUE(insecure) && !is.null(server_cert)) {
    .mlflow_config_error(paste(
      "insecure_tls (MLFLOW_TRACKING_INSECURE_TLS) and server_cert_path (MLFLOW_TRACKING_SERVER_CERT_PATH)",
      "cannot be used together: either verify the server's certificate against a CA bundle or skip verification"
    ))
  }
  settings <- list(
    max_retries = .setting(max_retries, "MLFLOW_HTTP_REQUEST_MAX_RETRIES", .parse_int) %||% 7,
    backoff_factor = .setting(backoff_factor, "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", .parse_num) %||% 2,
    backoff_jitter = .setting(backoff_jitter, "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", .parse_num) %||% 1,
    timeout = .setting(timeout, "MLFLOW_HTTP_REQUEST_TIMEOUT", .parse_num) %||% 120,
    allow_redirects = .setting(allow_redirects, "MLFLOW_ALLOW_HTTP_REDIRECTS", .parse_bool) %||% TRUE,
    max_retry_after = .setting(max_retry_after, "MLFLOW_CLIENT_MAX_RETRY_AFTER", .parse_num) %||% 60,
    max_retry_time = .setting(max_retry_time, "MLFLOW_CLIENT_MAX_RETRY_TIME", .parse_num) %||% 600
  )
  for (name in c("max_retries", "backoff_factor", "backoff_jitter", "max_retry_after")) {
    if (!is.numeric(settings[[name]]) || length(settings[[name]]) != 1 || !(settings[[name]] >= 0)) {
      .mlflow_config_error(sprintf("%s must be a number >= 0", name))
    }
  }
  for (name in c("timeout", "max_retry_time")) {
    if (!is.numeric(settings[[name]]) || length(settings[[name]]) != 1 || !(settings[[name]] > 0)) {
      .mlflow_config_error(sprintf("%s must be a number > 0", name))
    }
  }
  # Secrets live in an environment: print(), format() and str() never show its contents.
  secrets <- new.env(parent = emptyenv())
  scheme <- NULL
  shown_user <- NULL
  if (!is.null(username)) {
    scheme <- "basic"
    shown_user <- username
    secrets$header <- paste("Basic", jsonlite::base64_enc(charToRaw(paste0(username, ":", password))))
    secrets$values <- c(password, secrets$header)
  } else if (!is.null(token)) {
    scheme <- "bearer"
    secrets$header <- paste("Bearer", token)
    secrets$values <- c(token)
  } else if (!is.null(split$username)) {
    scheme <- "basic"
    shown_user <- split$username
    secrets$header <- paste("Basic", jsonlite::base64_enc(charToRaw(paste0(split$username, ":", split$password))))
    secrets$values <- c(split$password, secrets$header)
  }
  tls <- list()
  if (isTRUE(insecure)) {
    tls <- list(ssl_verifypeer = 0L, ssl_verifyhost = 0L)
  } else if (!is.null(server_cert)) {
    if (!file.exists(server_cert)) {
      .mlflow_config_error(sprintf("cannot load the CA bundle in MLFLOW_TRACKING_SERVER_CERT_PATH='%s': no such file",
                                   server_cert))
    }
    tls <- if (dir.exists(server_cert)) list(capath = server_cert) else list(cainfo = server_cert)
  }
  if (!is.null(client_cert)) {
    if (!file.exists(client_cert)) {
      .mlflow_config_error(sprintf(
        "cannot load the client certificate and key in MLFLOW_TRACKING_CLIENT_CERT_PATH='%s': no such file", client_cert
      ))
    }
    tls <- c(tls, list(sslcert = client_cert, sslkey = client_cert))
  }
  structure(
    list(
      tracking_uri = split$uri,
      auth_scheme = scheme,
      username = shown_user,
      insecure_tls = isTRUE(insecure),
      server_cert_path = server_cert,
      client_cert_path = client_cert,
      settings = settings,
      tls = tls,
      secrets = secrets
    ),
    class = "mlflow_client"
  )
}

#' @export
format.mlflow_client <- function(x, ...) {
  auth <- switch(x$auth_scheme %||% "none",
    basic = sprintf("basic (username '%s', password ***)", x$username),
    bearer = "bearer (token ***)",
    none = "none"
  )
  s <- x$settings
  c(
    "<mlflow_client>",
    paste0("  tracking_uri: ", x$tracking_uri),
    paste0("  auth: ", auth),
    paste0("  tls: ", if (x$insecure_tls) "verification off" else if (!is.null(x$server_cert_path))
      paste0("CA bundle ", x$server_cert_path) else "system CA bundle",
      if (!is.null(x$client_cert_path)) paste0(", client certificate ", x$client_cert_path) else ""),
    sprintf("  retries: %g (backoff factor %g, jitter %g), timeout %g s",
            s$max_retries, s$backoff_factor, s$backoff_jitter, s$timeout)
  )
}

#' @export
print.mlflow_client <- function(x, ...) {
  cat(format(x), sep = "\n")
  invisible(x)
}

# -- JSON encoding ------------------------------------------------------------------------------------

.json_string <- function(x) {
  x <- enc2utf8(as.character(x))
  x <- gsub("\\", "\\\\", x, fixed = TRUE)
  x <- gsub("\"", "\\\"", x, fixed = TRUE)
  x <- gsub("\n", "\\n", x, fixed = TRUE)
  x <- gsub("\r", "\\r", x, fixed = TRUE)
  x <- gsub("\t", "\\t", x, fixed = TRUE)
  if (any(grepl("[\001-\037]", x, useBytes = TRUE))) {
    for (code in c(1:8, 11:12, 14:31)) {
      x <- gsub(rawToChar(as.raw(code)), sprintf("\\u%04x", code), x, fixed = TRUE)
    }
  }
  paste0("\"", x, "\"")
}

# Whole numbers as plain digits: no scientific notation, no rounding (exact up to 2^53; larger ids may
# be given as character strings of digits).
.int_text <- function(x, name) {
  if (is.character(x)) {
    if (!all(grepl("^-?[0-9]+$", x))) stop(sprintf("%s must be a whole number, got '%s'", name, x[1]), call. = FALSE)
    return(x)
  }
  x <- as.numeric(x)
  if (any(!is.finite(x)) || any(x != round(x))) {
    stop(sprintf("%s must be a whole number, got %s", name, format(x[1])), call. = FALSE)
  }
  sprintf("%.0f", x)
}

# Doubles in the shortest text that reads back as the same number.
.num_text <- function(x) {
  x <- as.numeric(x)
  out <- sprintf("%.15g", x)
  inexact <- is.finite(x) & as.numeric(out) != x
  out[inexact] <- sprintf("%.17g", x[inexact])
  out[is.nan(x)] <- "NaN"
  out[!is.nan(x) & is.na(x)] <- "NaN"
  out[x == Inf & !is.na(x)] <- "Infinity"
  out[x == -Inf & !is.na(x)] <- "-Infinity"
  out
}

.bool_text <- function(x) ifelse(as.logical(x), "true", "false")

.INT_KINDS <- c("int64", "uint64", "int32", "uint32", "sint32", "sint64")

.scalar_texts <- function(kind, x, name) {
  if (kind %in% .INT_KINDS) return(.int_text(x, name))
  if (kind %in% c("double", "float")) return(.num_text(x))
  if (kind == "bool") return(.bool_text(x))
  .json_string(x)
}

# Rows of a repeated message field: a data.frame (one element per row), a list of lists, or for
# key/value messages also a named list or named vector.
.as_records <- function(value, type) {
  if (is.data.frame(value)) {
    if (nrow(value) == 0) return(list())
    cols <- names(value)
    return(lapply(seq_len(nrow(value)), function(i) {
      row <- lapply(cols, function(col) value[[col]][[i]])
      names(row) <- cols
      row
    }))
  }
  fields <- names(.MLFLOW_MESSAGES[[type]])
  named <- !is.null(names(value)) && all(nzchar(names(value)))
  if (named && identical(fields, c("key", "value"))) {
    # key/value messages (tags, params): list(a = "1", b = "2") or c(a = "1", b = "2")
    return(mapply(function(k, v) list(key = k, value = v), names(value), value, SIMPLIFY = FALSE, USE.NAMES = FALSE))
  }
  if (named && all(names(value) %in% fields)) return(list(value))
  unname(as.list(value))
}

.encode_value <- function(field, value, name) {
  kind <- field$kind
  if (isTRUE(field$map)) {
    value <- as.list(value)
    if (length(value) == 0) return("{}")
    texts <- vapply(names(value), function(k) .encode_value(field$value, value[[k]], paste0(name, "$", k)), "")
    return(paste0("{", paste0(.json_string(names(value)), ":", texts, collapse = ","), "}"))
  }
  if (kind == "message") {
    if (isTRUE(field$repeated)) {
      records <- .as_records(value, field$type)
      texts <- vapply(records, .encode_message, "", type = field$type)
      return(paste0("[", paste(texts, collapse = ","), "]"))
    }
    return(.encode_message(value, field$type))
  }
  texts <- .scalar_texts(kind, value, name)
  if (isTRUE(field$repeated)) return(paste0("[", paste(texts, collapse = ","), "]"))
  if (length(texts) != 1) stop(sprintf("%s must be a single value, got %d", name, length(texts)), call. = FALSE)
  texts
}

.encode_message <- function(value, type) {
  schema <- .MLFLOW_MESSAGES[[type]]
  value <- as.list(value)
  parts <- character(0)
  for (name in names(value)) {
    field <- schema[[name]]
    if (is.null(field)) stop(sprintf("%s has no field '%s'", type, name), call. = FALSE)
    v <- value[[name]]
    if (is.null(v) || (length(v) == 1 && is.atomic(v) && is.na(v) && !(is.numeric(v) && is.nan(v)))) next
    parts <- c(parts, paste0(.json_string(name), ":", .encode_value(field, v, name)))
  }
  paste0("{", paste(parts, collapse = ","), "}")
}

# -- requests -----------------------------------------------------------------------------------------

.query_string <- function(type, args) {
  schema <- .MLFLOW_MESSAGES[[type]]
  parts <- character(0)
  for (name in names(args)) {
    v <- args[[name]]
    if (is.null(v)) next
    field <- schema[[name]]
    texts <- if (field$kind %in% c("string", "enum", "bytes")) as.character(v) else .scalar_texts(field$kind, v, name)
    if (!isTRUE(field$repeated) && length(texts) != 1) {
      stop(sprintf("%s must be a single value, got %d", name, length(texts)), call. = FALSE)
    }
    parts <- c(parts, paste0(name, "=", vapply(texts, curl::curl_escape, "", USE.NAMES = FALSE)))
  }
  if (length(parts) == 0) "" else paste0("?", paste(parts, collapse = "&"))
}

.path_segment <- function(value, multi) {
  value <- as.character(value)
  if (multi) {
    pieces <- strsplit(value, "/", fixed = TRUE)[[1]]
    return(paste(vapply(pieces, curl::curl_escape, "", USE.NAMES = FALSE), collapse = "/"))
  }
  curl::curl_escape(value)
}

.retry_after_seconds <- function(value, cap) {
  if (is.null(value) || !nzchar(trimws(value))) return(NULL)
  text <- trimws(value)
  seconds <- suppressWarnings(as.numeric(text))
  if (is.na(seconds)) {
    when <- suppressWarnings(as.POSIXct(text, format = "%a, %d %b %Y %H:%M:%S", tz = "GMT"))
    if (is.na(when)) return(NULL)
    seconds <- as.numeric(difftime(when, Sys.time(), units = "secs"))
  }
  if (is.nan(seconds)) return(NULL)
  max(0, min(seconds, cap))
}

.backoff <- function(settings, retry_number) {
  if (retry_number <= 1) return(0)
  value <- settings$backoff_factor * 2^(retry_number - 1) + stats::runif(1) * settings$backoff_jitter
  max(0, min(.MLFLOW_BACKOFF_MAX, value))
}

# What a curl failure means: "connect" (the request never left), "tls" (configuration: not retried),
# or "network" (it may have reached the server).
.failure_kind <- function(message) {
  if (grepl("Couldn't connect|Could not resolve|Couldn't resolve|Failed to connect|Connection refused",
            message, ignore.case = TRUE)) {
    return("connect")
  }
  if (grepl("SSL|certificate|TLS", message, ignore.case = TRUE) &&
      !grepl("unexpected eof|connection reset|SSL_ERROR_SYSCALL", message, ignore.case = TRUE)) {
    return("tls")
  }
  "network"
}

.redact <- function(text, client) {
  for (secret in client$secrets$values %||% character(0)) {
    if (nzchar(secret)) text <- gsub(secret, "***", text, fixed = TRUE)
  }
  text
}

.http_error <- function(response, method, path, client) {
  status <- httr::status_code(response)
  raw <- httr::content(response, as = "raw")
  text <- .redact(tryCatch(rawToChar(raw[raw != as.raw(0)]), error = function(e) ""), client)
  Encoding(text) <- "UTF-8"
  data <- tryCatch(jsonlite::fromJSON(text, simplifyVector = FALSE), error = function(e) NULL)
  code <- if (is.list(data) && is.character(data$error_code) && nzchar(data$error_code)) data$error_code else NULL
  if (!is.null(code)) {
    message <- paste0(code, ": ", if (is.character(data$message)) data$message else paste("Response:", text))
  } else {
    code <- .MLFLOW_STATUS_CODES[[as.character(status), exact = TRUE]] %||%
      (if (status >= 400 && status < 500) "BAD_REQUEST" else "INTERNAL_ERROR")
    excerpt <- substr(gsub("\\s+", " ", text), 1, 500)
    message <- sprintf("%s: API request to %s %s failed with HTTP %d. Response body: '%s'",
                       code, method, path, status, excerpt)
  }
  .mlflow_condition("mlflow_error", message, error_code = code, http_status = status, body = substr(text, 1, 10000))
}

.mlflow_user_agent <- function() {
  paste0("mlflowclient-r/", tryCatch(as.character(utils::packageVersion("mlflowclient")), error = function(e) "dev"))
}

# Send one request, retrying as the settings say; returns the httr response of a 2xx answer.
.mlflow_send <- function(client, method, path, query = "", body = NULL, content_type = NULL, retry_safe = TRUE) {
  if (!inherits(client, "mlflow_client")) stop("client must be made with mlflow_client()", call. = FALSE)
  settings <- client$settings
  url <- paste0(client$tracking_uri, path, query)
  headers <- c("User-Agent" = .mlflow_user_agent())
  if (!is.null(client$secrets$header)) headers <- c(headers, Authorization = client$secrets$header)
  if (!is.null(content_type)) headers <- c(headers, "Content-Type" = content_type)
  config <- c(
    list(httr::add_headers(.headers = headers), httr::timeout(settings$timeout),
         httr::config(connecttimeout = min(settings$timeout, .MLFLOW_CONNECT_TIMEOUT),
                      followlocation = as.integer(isTRUE(settings$allow_redirects)))),
    if (length(client$tls)) list(do.call(httr::config, client$tls)) else list()
  )
  started <- Sys.time()
  attempt <- 0
  repeat {
    attempt <- attempt + 1
    retry_after <- NULL
    response <- tryCatch(
      do.call(httr::VERB, c(list(method, url, body = body), config)),
      error = function(e) e
    )
    if (inherits(response, "error")) {
      reason <- conditionMessage(response)
      kind <- .failure_kind(reason)
      retry_ok <- kind == "connect" || (kind == "network" && retry_safe)
      failure <- .mlflow_condition(
        c("mlflow_connection_error", "mlflow_error"),
        sprintf("%s %s%s failed: %s", method, client$tracking_uri, path, .redact(reason, client)),
        error_code = NA_character_, http_status = NA_integer_
      )
    } else {
      status <- httr::status_code(response)
      if (status >= 200 && status < 300) return(response)
      retry_after <- .retry_after_seconds(httr::headers(response)[["retry-after"]], settings$max_retry_after)
      retry_ok <- status %in% .MLFLOW_RETRY_STATUSES &&
        (retry_safe || (status %in% .MLFLOW_REFUSED_STATUSES && !is.null(retry_after)))
      failure <- .http_error(response, method, path, client)
    }
    if (!retry_ok || attempt > settings$max_retries) break
    delay <- if (!is.null(retry_after) && retry_after > 0) retry_after else .backoff(settings, attempt)
    elapsed <- as.numeric(difftime(Sys.time(), started, units = "secs"))
    if (elapsed + delay > settings$max_retry_time) break
    if (delay > 0) Sys.sleep(delay)
  }
  if (inherits(failure, "mlflow_connection_error") && attempt > 1) {
    failure$message <- paste0(failure$message, sprintf(" (gave up after %d attempts)", attempt))
  }
  failure$attempts <- attempt
  stop(failure)
}

.parse_json <- function(response) {
  text <- httr::content(response, as = "text", encoding = "UTF-8")
  if (!nzchar(trimws(text))) return(list())
  jsonlite::parse_json(text, simplifyVector = FALSE, bigint_as_char = TRUE)
}

# One JSON RPC: GET sends the fields as query parameters, anything else as a JSON body. DELETE too: MLflow
# reads a DELETE's fields from its JSON body only, as its own client sends them; one without fields sends none.
.mlflow_call <- function(client, method, path, type, args, retry_safe = TRUE) {
  args <- args[!vapply(args, is.null, logical(1))]
  if (method == "GET" || (method == "DELETE" && length(args) == 0)) {
    response <- .mlflow_send(client, method, path, query = .query_string(type, args), retry_safe = retry_safe)
  } else {
    body <- .encode_message(args, type)
    response <- .mlflow_send(client, method, path, body = body, content_type = "application/json",
                             retry_safe = retry_safe)
  }
  .parse_json(response)
}

# -- data.frames --------------------------------------------------------------------------------------

.column <- function(records, name, kind) {
  n <- length(records)
  if (kind %in% c("double", "float", .INT_KINDS)) {
    if (n == 0) return(numeric(0))
    return(vapply(records, function(r) {
      v <- r[[name]]
      if (is.null(v)) NA_real_ else if (is.character(v)) as.numeric(v) else v
    }, numeric(1), USE.NAMES = FALSE))
  }
  if (kind == "bool") {
    if (n == 0) return(logical(0))
    return(vapply(records, function(r) r[[name]] %||% NA, logical(1), USE.NAMES = FALSE))
  }
  if (n == 0) return(character(0))
  vapply(records, function(r) {
    v <- r[[name]]
    if (is.null(v)) NA_character_ else as.character(v)
  }, character(1), USE.NAMES = FALSE)
}

# Scalar fields of a message as columns, in spec order (skipping deprecated aliases).
.frame_of <- function(records, type, skip = character(0)) {
  schema <- .MLFLOW_MESSAGES[[type]]
  cols <- list()
  for (name in names(schema)) {
    field <- schema[[name]]
    if (name %in% skip || isTRUE(field$repeated) || isTRUE(field$map) || field$kind == "message" ||
        isTRUE(field$deprecated)) next
    cols[[name]] <- .column(records, name, field$kind)
  }
  as.data.frame(cols, stringsAsFactors = FALSE, optional = TRUE)
}

# key/value pairs of each record's list `field` as columns "<prefix>.<key>".
.pair_columns <- function(frame, pairs, prefix, numeric_values = FALSE) {
  n <- length(pairs)
  keys <- sort(unique(unlist(lapply(pairs, function(p) vapply(p, function(kv) kv$key %||% "", "")))))
  for (key in keys) {
    column <- if (numeric_values) rep(NA_real_, n) else rep(NA_character_, n)
    for (i in seq_len(n)) {
      for (kv in pairs[[i]]) {
        if (identical(kv$key, key)) {
          v <- kv$value
          column[i] <- if (is.null(v)) NA else if (numeric_values && is.character(v)) as.numeric(v) else v
        }
      }
    }
    frame[[paste0(prefix, ".", key)]] <- column
  }
  frame
}

.paginate <- function(fetch, item, page_token, all_pages) {
  items <- list()
  token <- page_token
  repeat {
    page <- fetch(token)
    items <- c(items, page[[item]] %||% list())
    token <- page$next_page_token
    if (!all_pages || is.null(token) || !nzchar(token)) break
  }
  list(items = items, next_page_token = if (is.null(token) || !nzchar(token)) NULL else token)
}

.runs_frame <- function(runs) {
  infos <- lapply(runs, function(r) r$info %||% list())
  frame <- .frame_of(infos, "mlflow.RunInfo")
  data <- lapply(runs, function(r) r$data %||% list())
  frame <- .pair_columns(frame, lapply(data, function(d) d$metrics %||% list()), "metrics", numeric_values = TRUE)
  frame <- .pair_columns(frame, lapply(data, function(d) d$params %||% list()), "params")
  .pair_columns(frame, lapply(data, function(d) d$tags %||% list()), "tags")
}

.experiments_frame <- function(experiments) {
  frame <- .frame_of(experiments, "mlflow.Experiment")
  .pair_columns(frame, lapply(experiments, function(e) e$tags %||% list()), "tags")
}

.metrics_frame <- function(metrics) {
  .frame_of(metrics, "mlflow.Metric")
}

#' The current time in milliseconds since the epoch, as a whole number (for timestamps and start/end times).
#' @export
mlflow_timestamp <- function() round(as.numeric(Sys.time()) * 1000)
