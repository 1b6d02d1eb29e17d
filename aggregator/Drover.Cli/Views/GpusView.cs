using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Drover.Cli.Views;

/// <summary><c>droverctl gpus [NODE]</c>: the GPUs of <c>GET /v1/nodes/{id}/gpus</c> of one node or every node, as one table.</summary>
internal static class GpusView
{
    /// <param name="gpusByNode">Each node's id and its GPUs, in the order to show.</param>
    /// <param name="plain">Plain columns rather than a bordered table.</param>
    public static IRenderable Render(IEnumerable<(string NodeId, JsonElement Gpus)> gpusByNode, bool plain)
    {
        var table = Tables.Create(plain, "NODE", "GPU", "NAME", "HEALTH", "UTIL%", "MEM USED/TOTAL GiB", "CMD QUEUE", "TEMP C", "POWER W", "MIG", "REASON");
        foreach (var (nodeId, gpus) in gpusByNode)
        {
            foreach (var gpu in Field.Items(gpus))
            {
                table.AddRow(
                    new Text(nodeId),
                    new Text(Field.Text(gpu, "index")),
                    new Text(Field.Text(gpu, "name")),
                    Tables.State(Field.Text(gpu, "health")),
                    new Text(Field.Text(gpu, "utilizationGpuPercent")),
                    new Text($"{Field.GiB(Field.Number(gpu, "memoryUsedBytes"))}/{Field.GiB(Field.Number(gpu, "memoryTotalBytes"))}"),
                    new Text(CommandQueue(gpu)),
                    new Text(Field.Text(gpu, "temperatureC")),
                    new Text(Field.Decimal(Field.Number(gpu, "powerMilliwatts") / 1000, 0)),
                    new Text(Mig(gpu)),
                    new Text(Field.Text(gpu, "healthReason")));
            }
        }

        return table;
    }

    /// <summary>The command-queue length with its source (measured, reported, estimated), or the source alone when unknown.</summary>
    private static string CommandQueue(JsonElement gpu)
    {
        var source = Field.Text(gpu, "commandQueueSource");
        return source is "unknown" or "" ? source : $"{Field.Decimal(Field.Number(gpu, "commandQueueLength"), 3)} ({source})";
    }

    /// <summary>A MIG instance's profile and parent, "enabled" on a GPU carved into instances, else empty.</summary>
    private static string Mig(JsonElement gpu)
    {
        var mig = Field.Get(gpu, "mig");
        if (mig.ValueKind == JsonValueKind.Object)
        {
            var profile = Field.Text(mig, "profile");
            return $"{(profile.Length > 0 ? profile : "instance")} of {Field.Text(mig, "parentUuid")}";
        }

        return Field.Bool(gpu, "migEnabled") == true ? "enabled" : "";
    }
}
