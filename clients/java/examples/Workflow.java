import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.mlflowclient.MlflowServiceClient;
import org.mlflowclient.ModelRegistryServiceClient;
import org.mlflowclient.proto.ModelRegistry;
import org.mlflowclient.proto.ModelRegistry.ModelVersion;
import org.mlflowclient.proto.Tracking.CreateExperiment;
import org.mlflowclient.proto.Tracking.CreateRun;
import org.mlflowclient.proto.Tracking.GetExperiment;
import org.mlflowclient.proto.Tracking.GetMetricHistory;
import org.mlflowclient.proto.Tracking.GetRun;
import org.mlflowclient.proto.Tracking.LogBatch;
import org.mlflowclient.proto.Tracking.LogMetric;
import org.mlflowclient.proto.Tracking.LogParam;
import org.mlflowclient.proto.Tracking.Metric;
import org.mlflowclient.proto.Tracking.Param;
import org.mlflowclient.proto.Tracking.Run;
import org.mlflowclient.proto.Tracking.RunStatus;
import org.mlflowclient.proto.Tracking.RunTag;
import org.mlflowclient.proto.Tracking.SearchRuns;
import org.mlflowclient.proto.Tracking.SetTag;
import org.mlflowclient.proto.Tracking.UpdateRun;
import org.mlflowclient.runtime.MlflowException;

/**
 * End-to-end use of the Java binding against a tracking server: {@code MLFLOW_TRACKING_URI} says where,
 * the first argument names the experiment to create. Checks every answer as it goes (exit code 1 and a
 * message on stderr on the first mismatch) and prints one JSON line summarising what it logged, last.
 */
public final class Workflow {
    private Workflow() {}

    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: Workflow EXPERIMENT_NAME  (server from MLFLOW_TRACKING_URI)");
            System.exit(2);
        }
        try {
            System.out.println(run(args[0]));
        } catch (AssertionError | RuntimeException e) {
            System.err.println("workflow failed: " + e);
            System.exit(1);
        }
    }

    static void check(boolean condition, String message) {
        if (!condition) {
            throw new AssertionError(message);
        }
    }

    static String run(String experimentName) {
        MlflowServiceClient client = MlflowServiceClient.fromEnv();
        long now = System.currentTimeMillis();

        String experimentId = client.createExperiment(CreateExperiment.newBuilder().setName(experimentName).build())
                .getExperimentId();
        check(!experimentId.isEmpty(), "createExperiment returned no experiment_id");
        String gotName = client.getExperiment(GetExperiment.newBuilder().setExperimentId(experimentId).build())
                .getExperiment().getName();
        check(gotName.equals(experimentName), "getExperiment: name " + gotName + " != " + experimentName);

        Run created = client.createRun(CreateRun.newBuilder()
                .setExperimentId(experimentId)
                .setRunName("java-workflow")
                .setStartTime(now)
                .addTags(RunTag.newBuilder().setKey("source").setValue("java"))
                .build()).getRun();
        String runId = created.getInfo().getRunId();
        check(!runId.isEmpty(), "createRun returned no run_id");
        check(created.getInfo().getStatus() == RunStatus.RUNNING, "new run is " + created.getInfo().getStatus());

        Map<String, String> params = new TreeMap<>(Map.of("lr", "0.01", "optimizer", "adam", "batch_size", "32"));
        client.logParam(LogParam.newBuilder().setRunId(runId).setKey("lr").setValue("0.01").build());
        client.logParam(LogParam.newBuilder().setRunId(runId).setKey("optimizer").setValue("adam").build());

        double[] loss = {1.0, 0.5, 0.25};
        for (int step = 0; step < loss.length; step++) {
            client.logMetric(LogMetric.newBuilder().setRunId(runId).setKey("loss").setValue(loss[step])
                    .setTimestamp(now + step).setStep(step).build());
        }
        double[] accuracy = {0.8, 0.9};
        LogBatch.Builder batch = LogBatch.newBuilder().setRunId(runId)
                .addParams(Param.newBuilder().setKey("batch_size").setValue("32"))
                .addTags(RunTag.newBuilder().setKey("phase").setValue("train"));
        for (int step = 0; step < accuracy.length; step++) {
            batch.addMetrics(Metric.newBuilder().setKey("accuracy").setValue(accuracy[step]).setTimestamp(now + step)
                    .setStep(step));
        }
        client.logBatch(batch.build());

        Map<String, String> tags = new TreeMap<>(Map.of("source", "java", "phase", "train", "team", "ml"));
        client.setTag(SetTag.newBuilder().setRunId(runId).setKey("team").setValue("ml").build());

        SearchRuns.Response found = client.searchRuns(SearchRuns.newBuilder().addExperimentIds(experimentId)
                .setFilter("params.lr = '0.01'").build());
        check(found.getRunsCount() == 1, "searchRuns(params.lr = '0.01') found " + found.getRunsCount() + " runs");
        check(found.getRuns(0).getInfo().getRunId().equals(runId), "searchRuns found another run");
        SearchRuns.Response none = client.searchRuns(SearchRuns.newBuilder().addExperimentIds(experimentId)
                .setFilter("params.lr = '0.5'").build());
        check(none.getRunsCount() == 0, "searchRuns(params.lr = '0.5') found " + none.getRunsCount() + " runs");

        // No page size given: the client sends the spec's (25000), as MLflow 3.11 reads a missing one as 0.
        List<Metric> history = client.getMetricHistory(GetMetricHistory.newBuilder().setRunId(runId)
                .setMetricKey("loss").build()).getMetricsList();
        List<Metric> sorted = new ArrayList<>(history);
        sorted.sort((a, b) -> Long.compare(a.getStep(), b.getStep()));
        check(sorted.size() == loss.length, "loss history has " + sorted.size() + " points, expected " + loss.length);
        for (int step = 0; step < loss.length; step++) {
            Metric m = sorted.get(step);
            check(m.getStep() == step && m.getValue() == loss[step] && m.getTimestamp() == now + step,
                    "loss point " + step + " is step=" + m.getStep() + " value=" + m.getValue());
        }

        long end = System.currentTimeMillis();
        UpdateRun.Response updated = client.updateRun(UpdateRun.newBuilder().setRunId(runId)
                .setStatus(RunStatus.FINISHED).setEndTime(end).build());
        check(updated.getRunInfo().getStatus() == RunStatus.FINISHED, "updateRun answered "
                + updated.getRunInfo().getStatus());

        Run run = client.getRun(GetRun.newBuilder().setRunId(runId).build()).getRun();
        check(run.getInfo().getStatus() == RunStatus.FINISHED, "getRun: status " + run.getInfo().getStatus());
        Map<String, String> gotParams = new TreeMap<>();
        run.getData().getParamsList().forEach(p -> gotParams.put(p.getKey(), p.getValue()));
        check(gotParams.equals(params), "getRun: params " + gotParams + " != " + params);
        Map<String, String> gotTags = new TreeMap<>();
        run.getData().getTagsList().forEach(t -> gotTags.put(t.getKey(), t.getValue()));
        check(gotTags.entrySet().containsAll(tags.entrySet()), "getRun: tags " + gotTags + " lack " + tags);

        String missing = "999999999";
        MlflowException error = null;
        try {
            client.getExperiment(GetExperiment.newBuilder().setExperimentId(missing).build());
        } catch (MlflowException e) {
            error = e;
        }
        check(error != null, "getExperiment(" + missing + ") did not fail");
        check("RESOURCE_DOES_NOT_EXIST".equals(error.getErrorCode()), "error code " + error.getErrorCode());
        check(Integer.valueOf(404).equals(error.getHttpStatus()), "HTTP status " + error.getHttpStatus());

        JsonObject registry = registryStep(experimentName + "-model", run);

        JsonObject summary = new JsonObject();
        summary.addProperty("experiment_id", experimentId);
        summary.addProperty("experiment_name", experimentName);
        summary.addProperty("run_id", runId);
        summary.addProperty("status", run.getInfo().getStatus().name());
        summary.addProperty("start_time", now);
        summary.addProperty("end_time", end);
        JsonObject p = new JsonObject();
        params.forEach(p::addProperty);
        summary.add("params", p);
        JsonObject t = new JsonObject();
        tags.forEach(t::addProperty);
        summary.add("tags", t);
        JsonObject metrics = new JsonObject();
        metrics.add("loss", points(loss, now));
        metrics.add("accuracy", points(accuracy, now));
        summary.add("metrics", metrics);
        JsonObject err = new JsonObject();
        err.addProperty("error_code", error.getErrorCode());
        err.addProperty("http_status", error.getHttpStatus());
        summary.add("error", err);
        summary.add("registry", registry);
        return summary.toString();
    }

    /**
     * The registry: a registered model, a version from the run's artifact URI, an alias, the version got back
     * by alias, then the model deleted (with its versions) and gone.
     */
    static JsonObject registryStep(String modelName, Run run) {
        ModelRegistryServiceClient registry = ModelRegistryServiceClient.fromEnv();
        String runId = run.getInfo().getRunId();
        String source = run.getInfo().getArtifactUri() + "/model";
        String created = registry.createRegisteredModel(ModelRegistry.CreateRegisteredModel.newBuilder()
                .setName(modelName).setDescription("from the Java workflow").build()).getRegisteredModel().getName();
        check(created.equals(modelName), "createRegisteredModel: name " + created);
        ModelVersion version = registry.createModelVersion(ModelRegistry.CreateModelVersion.newBuilder()
                .setName(modelName).setSource(source).setRunId(runId).build()).getModelVersion();
        check(version.getVersion().equals("1"), "the first version of a new model is " + version.getVersion());
        registry.setRegisteredModelAlias(ModelRegistry.SetRegisteredModelAlias.newBuilder()
                .setName(modelName).setAlias("champion").setVersion(version.getVersion()).build());
        ModelVersion champion = registry.getModelVersionByAlias(ModelRegistry.GetModelVersionByAlias.newBuilder()
                .setName(modelName).setAlias("champion").build()).getModelVersion();
        check(champion.getName().equals(modelName) && champion.getVersion().equals("1"),
                "getModelVersionByAlias(champion) is " + champion.getName() + " v" + champion.getVersion());
        check(champion.getSource().equals(source) && champion.getRunId().equals(runId),
                "the champion's source " + champion.getSource() + " / run " + champion.getRunId());
        check(champion.getAliasesList().contains("champion"), "the champion's aliases " + champion.getAliasesList());

        registry.deleteRegisteredModel(ModelRegistry.DeleteRegisteredModel.newBuilder().setName(modelName).build());
        MlflowException gone = null;
        try {
            registry.getRegisteredModel(ModelRegistry.GetRegisteredModel.newBuilder().setName(modelName).build());
        } catch (MlflowException e) {
            gone = e;
        }
        check(gone != null && "RESOURCE_DOES_NOT_EXIST".equals(gone.getErrorCode()),
                "the deleted model is still there: " + gone);

        JsonObject out = new JsonObject();
        out.addProperty("model", modelName);
        out.addProperty("version", champion.getVersion());
        out.addProperty("alias", "champion");
        out.addProperty("source", champion.getSource());
        out.addProperty("run_id", champion.getRunId());
        out.addProperty("deleted_error", gone.getErrorCode());
        return out;
    }

    /** [[step, value, timestamp], ...] with step i at timestamp start + i. */
    private static JsonArray points(double[] values, long start) {
        JsonArray out = new JsonArray();
        for (int step = 0; step < values.length; step++) {
            JsonArray point = new JsonArray();
            point.add(step);
            point.add(values[step]);
            point.add(start + step);
            out.add(point);
        }
        return out;
    }
}
