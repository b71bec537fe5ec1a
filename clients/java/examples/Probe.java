import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.mlflowclient.MlflowArtifactsServiceClient;
import org.mlflowclient.MlflowServiceClient;
import org.mlflowclient.proto.Artifacts;
import org.mlflowclient.proto.Tracking.CreateExperiment;
import org.mlflowclient.proto.Tracking.CreateRun;
import org.mlflowclient.proto.Tracking.GetMetricHistory;
import org.mlflowclient.proto.Tracking.LogMetric;
import org.mlflowclient.proto.Tracking.SearchExperiments;
import org.mlflowclient.proto.Tracking.SearchRuns;
import org.mlflowclient.proto.Tracking.ViewType;
import org.mlflowclient.runtime.ClientConfig;
import org.mlflowclient.runtime.JsonCodec;
import org.mlflowclient.runtime.MlflowConnectionException;
import org.mlflowclient.runtime.MlflowException;

/**
 * A small driver for tests of auth, retries and TLS: runs one call, configured from the environment, and
 * prints one JSON line with its outcome, {@code {"ok": true, ...}} or {@code {"ok": false, "exception":
 * ..., "error_code": ..., "http_status": ..., "message": ...}}. Exit code 0 either way; 2 on bad usage.
 *
 * <pre>
 * Probe ping                                   searchExperiments(max_results=1)
 * Probe create-experiment NAME                 createExperiment, prints experiment_id
 * Probe create-run EXPERIMENT_ID               createRun, prints run_id
 * Probe log-metric RUN_ID KEY VALUE STEP       logMetric (timestamp = STEP)
 * Probe history RUN_ID KEY                     getMetricHistory with no page size, prints the point count
 * Probe artifacts PATH TEXT                    upload TEXT to PATH, list its folder, download it again
 * Probe encode-query                           the query parameters of a fixed SearchRuns message
 * Probe describe                               the configuration and transport, as toString() shows them
 * </pre>
 */
public final class Probe {
    private Probe() {}

    public static void main(String[] args) {
        JsonObject out = new JsonObject();
        try {
            if (args.length == 0) {
                usage();
            }
            if (args[0].equals("describe")) {
                out.addProperty("config", ClientConfig.fromEnv().toString());
                out.addProperty("client", MlflowServiceClient.fromEnv().toString());
                out.addProperty("ok", true);
                System.out.println(out);
                return;
            }
            if (args[0].equals("encode-query")) {
                SearchRuns message = SearchRuns.newBuilder().addExperimentIds("1").addExperimentIds("2")
                        .setFilter("params.lr = '0.01'").setRunViewType(ViewType.ALL).setMaxResults(5).build();
                JsonArray params = new JsonArray();
                for (Map.Entry<String, String> entry : JsonCodec.queryParams(message)) {
                    JsonArray pair = new JsonArray();
                    pair.add(entry.getKey());
                    pair.add(entry.getValue());
                    params.add(pair);
                }
                out.add("params", params);
                out.addProperty("json", JsonCodec.toJson(message));
                out.addProperty("ok", true);
                System.out.println(out);
                return;
            }
            if (args[0].equals("artifacts")) {
                need(args, 3);
                MlflowArtifactsServiceClient artifacts = MlflowArtifactsServiceClient.fromEnv();
                artifacts.uploadArtifact(args[1], args[2].getBytes(StandardCharsets.UTF_8));
                String folder = args[1].contains("/") ? args[1].substring(0, args[1].lastIndexOf('/')) : "";
                JsonArray files = new JsonArray();
                artifacts.listArtifacts(Artifacts.ListArtifacts.newBuilder().setPath(folder).build()).getFilesList()
                        .forEach(f -> files.add(f.getPath()));
                out.add("listed", files);
                out.addProperty("downloaded", new String(artifacts.downloadArtifact(args[1]), StandardCharsets.UTF_8));
                out.addProperty("ok", true);
                System.out.println(out);
                return;
            }
            MlflowServiceClient client = MlflowServiceClient.fromEnv();
            switch (args[0]) {
                case "ping":
                    out.addProperty("experiments", client.searchExperiments(
                            SearchExperiments.newBuilder().setMaxResults(1).build()).getExperimentsCount());
                    break;
                case "create-experiment":
                    need(args, 2);
                    out.addProperty("experiment_id", client.createExperiment(
                            CreateExperiment.newBuilder().setName(args[1]).build()).getExperimentId());
                    break;
                case "create-run":
                    need(args, 2);
                    out.addProperty("run_id", client.createRun(CreateRun.newBuilder().setExperimentId(args[1])
                            .setStartTime(System.currentTimeMillis()).build()).getRun().getInfo().getRunId());
                    break;
                case "log-metric":
                    need(args, 5);
                    client.logMetric(LogMetric.newBuilder().setRunId(args[1]).setKey(args[2])
                            .setValue(Double.parseDouble(args[3])).setStep(Long.parseLong(args[4]))
                            .setTimestamp(Long.parseLong(args[4])).build());
                    break;
                case "history":
                    need(args, 3);
                    out.addProperty("points", client.getMetricHistory(GetMetricHistory.newBuilder()
                            .setRunId(args[1]).setMetricKey(args[2]).build()).getMetricsCount());
                    break;
                default:
                    usage();
            }
            out.addProperty("ok", true);
        } catch (MlflowException e) {
            out.addProperty("ok", false);
            out.addProperty("exception", e.getClass().getSimpleName());
            out.addProperty("error_code", e.getErrorCode());
            out.addProperty("http_status", e.getHttpStatus());
            out.addProperty("message", e.getMessage());
            out.addProperty("string", e.toString());
            out.addProperty("timeout", e instanceof MlflowConnectionException
                    && ((MlflowConnectionException) e).isTimeout());
        }
        System.out.println(out);
    }

    private static void need(String[] args, int count) {
        if (args.length != count) {
            usage();
        }
    }

    private static void usage() {
        System.err.println("usage: Probe ping | create-experiment NAME | create-run EXPERIMENT_ID"
                + " | log-metric RUN_ID KEY VALUE STEP | history RUN_ID KEY | describe");
        System.exit(2);
    }
}
