# End-to-end workflow of the R binding against a tracking server.
#
#   MLFLOW_TRACKING_URI=http://localhost:5000 Rscript clients/r-examples/workflow.R <experiment-name>
#
# Stops with a clear message at the first failed check; the last line on stdout is a JSON summary.
suppressPackageStartupMessages(library(mlflowclient))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 1) stop("usage: Rscript workflow.R <experiment-name>", call. = FALSE)
experiment_name <- args[[1]]
if (!nzchar(Sys.getenv("MLFLOW_TRACKING_URI"))) stop("MLFLOW_TRACKING_URI is not set", call. = FALSE)

check <- function(ok, what) {
  if (!isTRUE(ok)) stop(paste("workflow check failed:", what), call. = FALSE)
}

client <- mlflow_client()
now_ms <- function() floor(as.numeric(Sys.time()) * 1000)
t0 <- 1700000000123  # a fixed, realistic millisecond timestamp (well above 2^31)

experiment_id <- create_experiment(experiment_name, tags = list(origin = "r-workflow"), client = client)$experiment_id
check(is.character(experiment_id) && nzchar(experiment_id), "create_experiment returned an experiment_id")
check(identical(get_experiment(experiment_id, client = client)$experiment$name, experiment_name),
      "get_experiment returns the new experiment")

run <- create_run(experiment_id = experiment_id, run_name = "r-run", start_time = t0,
                  tags = list(source = "workflow.R"), client = client)$run
run_id <- run$info$run_id
check(is.character(run_id) && nzchar(run_id), "create_run returned a run_id")
check(identical(run$info$status, "RUNNING"), "a new run is RUNNING")

log_param(run_id, "lr", "0.01", client = client)
log_param(run_id, "optimizer", "adam", client = client)
for (step in 0:4) {
  log_metric(run_id, "loss", 1 / (step + 1), timestamp = t0 + step, step = step, client = client)
}
log_batch(
  run_id,
  metrics = data.frame(key = c("acc", "acc"), value = c(0.5, 0.75), timestamp = c(t0 + 10, t0 + 11), step = c(0, 1)),
  params = list(batch_size = "32"),
  tags = list(stage = "dev"),
  client = client
)
set_tag(run_id, "team", "r-binding", client = client)

runs <- search_runs(experiment_ids = experiment_id, filter = "params.lr = '0.01'", client = client)
check(is.data.frame(runs) && nrow(runs) == 1, sprintf("search_runs finds 1 run (found %d)", nrow(runs)))
check(identical(runs$run_id, run_id), "search_runs finds the logged run")
check(all(c("run_id", "experiment_id", "status", "start_time", "end_time", "metrics.loss", "metrics.acc",
            "params.lr", "params.batch_size", "tags.team", "tags.stage") %in% names(runs)),
      paste("search_runs columns:", paste(names(runs), collapse = ", ")))
check(identical(runs$params.lr, "0.01") && identical(runs$metrics.acc, 0.75), "search_runs values")
none <- search_runs(experiment_ids = experiment_id, filter = "params.lr = 'nope'", client = client)
check(is.data.frame(none) && nrow(none) == 0 && "run_id" %in% names(none), "an empty search is a zero-row data.frame")

# No page size given: the function's default is the spec's (25000), as MLflow 3.11 reads a missing one as 0.
history <- get_metric_history(run_id, "loss", client = client)
history <- history[order(history$step), ]
check(is.data.frame(history) && nrow(history) == 5, sprintf("metric history has 5 points (got %d)", nrow(history)))
check(identical(history$step, as.numeric(0:4)), "metric history steps")
check(isTRUE(all.equal(history$value, 1 / (1:5), tolerance = 0)), "metric history values")
check(identical(history$timestamp, t0 + 0:4), "metric history timestamps (exact int64)")

end_time <- t0 + 60000
invisible(update_run(run_id, status = "FINISHED", end_time = end_time, client = client))
finished <- get_run(run_id, client = client)$run$info
check(identical(finished$status, "FINISHED"), "the run is FINISHED")

# The registry: a model, a version from the run's artifact URI, an alias, the version got back by alias,
# then the model deleted (with its versions) and gone.
model_name <- paste0(experiment_name, "-model")
source <- paste0(finished$artifact_uri, "/model")
created <- create_registered_model(model_name, description = "from workflow.R", client = client)$registered_model
check(identical(created$name, model_name), "create_registered_model returns the model")
version <- create_model_version(model_name, source, run_id = run_id, client = client)$model_version
check(identical(version$version, "1"), paste("the first version of a new model is", version$version))
set_registered_model_alias(model_name, "champion", version$version, client = client)
champion <- get_model_version_by_alias(model_name, "champion", client = client)$model_version
check(identical(champion$name, model_name) && identical(champion$version, "1"),
      "get_model_version_by_alias(champion) is version 1")
check(identical(champion$source, source) && identical(champion$run_id, run_id), "the champion's source and run")
check("champion" %in% unlist(champion$aliases), "the champion carries its alias")
delete_registered_model(model_name, client = client)
gone <- tryCatch(get_registered_model(model_name, client = client), mlflow_error = function(e) e)
check(inherits(gone, "mlflow_error") && identical(gone$error_code, "RESOURCE_DOES_NOT_EXIST"),
      "the deleted registered model is gone")

missing_id <- "9999999999"
err <- tryCatch(get_experiment(missing_id, client = client), mlflow_error = function(e) e)
check(inherits(err, "mlflow_error") && inherits(err, "error") && inherits(err, "condition"),
      "get_experiment of a missing id signals an mlflow_error")
check(identical(err$error_code, "RESOURCE_DOES_NOT_EXIST"), paste("error_code:", err$error_code))
check(identical(as.integer(err$http_status), 404L), paste("http_status:", err$http_status))

summary <- list(
  experiment_id = experiment_id,
  run_id = run_id,
  params = list(lr = "0.01", optimizer = "adam", batch_size = "32"),
  tags = list(source = "workflow.R", stage = "dev", team = "r-binding"),
  metrics = list(
    loss = lapply(0:4, function(s) list(step = s, value = 1 / (s + 1), timestamp = sprintf("%.0f", t0 + s))),
    acc = list(list(step = 0, value = 0.5, timestamp = sprintf("%.0f", t0 + 10)),
               list(step = 1, value = 0.75, timestamp = sprintf("%.0f", t0 + 11)))
  ),
  start_time = sprintf("%.0f", t0),
  end_time = sprintf("%.0f", end_time),
  status = finished$status,
  search_rows = nrow(runs),
  search_columns = names(runs),
  history_rows = nrow(history),
  error = list(error_code = err$error_code, http_status = err$http_status, message = conditionMessage(err)),
  registry = list(model = model_name, version = champion$version, alias = "champion", source = champion$source,
                  run_id = champion$run_id, deleted_error = gone$error_code)
)
cat(jsonlite::toJSON(summary, auto_unbox = TRUE, digits = I(17)), "\n", sep = "")
