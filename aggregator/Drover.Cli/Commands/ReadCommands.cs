using System.CommandLine;
using System.Text.Json;
using Drover.Cli.Output;
using Drover.Cli.Views;

namespace Drover.Cli.Commands;

/// <summary>The commands that only look: nodes, gpus, clusters, functions, function, services, leader.</summary>
internal static class ReadCommands
{
    /// <summary>How many of a function's decisions <c>function NAME</c> shows by default.</summary>
    public const int DefaultDecisions = 10;

    public static IEnumerable<Command> Create(CommandRunner run)
    {
        var nodes = new Command("nodes", "The nodes: cluster, server number, address, survival, last heartbeat, GPUs, weight and priority (GET /v1/nodes)");
        run.Set(nodes, async (context, cancellationToken) =>
        {
            var answer = await context.Client.GetAsync("v1/nodes", cancellationToken);
            Show(context.Output, answer, plain => NodesView.Render(answer, plain));
        });

        var node = new Argument<string?>("NODE") { Description = "A node id; every node's GPUs when not given", Arity = ArgumentArity.ZeroOrOne };
        var gpus = new Command("gpus", "The GPUs of one node, or of every node: health, utilization, memory, command-queue length (GET /v1/nodes/{id}/gpus)") { node };
        run.Set(gpus, async (context, cancellationToken) =>
        {
            var byNode = new List<(string NodeId, JsonElement Gpus)>();
            if (context.Parse.GetValue(node) is { } nodeId)
            {
                byNode.Add((nodeId, await context.Client.GetAsync($"v1/nodes/{Segment(nodeId)}/gpus", cancellationToken)));
            }
            else
            {
                var all = await context.Client.GetAsync("v1/nodes", cancellationToken);
                foreach (var id in Field.Items(all).Select(n => Field.Text(n, "nodeId")).Where(id => id.Length > 0).Order(StringComparer.Ordinal))
                {
                    try
                    {
                        byNode.Add((id, await context.Client.GetAsync($"v1/nodes/{Segment(id)}/gpus", cancellationToken)));
                    }
                    catch (CliException ex) when (ex.ExitCode == ExitCodes.NotFound)
                    {
                        // Forgotten between the two requests: it has no GPUs to show any more.
                    }
                }
            }

            Show(
                context.Output,
                context.Parse.GetValue(node) is null
                    ? JsonText.Array(byNode.Select(n => JsonText.Object(("nodeId", JsonText.Of(n.NodeId)), ("gpus", n.Gpus))))
                    : byNode[0].Gpus,
                plain => GpusView.Render(byNode, plain));
        });

        var clusters = new Command("clusters", "The clusters: health, survivors against the threshold, role, group, backup mode, traffic share (GET /v1/clusters)");
        run.Set(clusters, async (context, cancellationToken) =>
        {
            var answer = await context.Client.GetAsync("v1/clusters", cancellationToken);
            Show(context.Output, answer, plain => ClustersView.Render(answer, plain));
        });

        var functions = new Command("functions", "The functions' definitions (GET /v1/functions)");
        run.Set(functions, async (context, cancellationToken) =>
        {
            var answer = await context.Client.GetAsync("v1/functions", cancellationToken);
            Show(context.Output, answer, plain => FunctionsView.Render(answer, plain));
        });

        var name = new Argument<string>("NAME") { Description = "The function's name" };
        var last = new Option<int>("--decisions")
        {
            Description = "How many of its last decisions to show in the table (json: all)",
            HelpName = "N",
            DefaultValueFactory = _ => DefaultDecisions,
        };
        last.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 0)
            {
                result.AddError("--decisions: expected 0 or more");
            }
        });
        var function = new Command("function", "One function: its definition in short, its request queue, its instances and its recent decisions (GET /v1/functions/{name} and .../decisions)") { name, last };
        run.Set(function, async (context, cancellationToken) =>
        {
            var path = $"v1/functions/{Segment(context.Parse.GetValue(name)!)}";
            var definition = await context.Client.GetAsync(path, cancellationToken);
            var decisions = await context.Client.GetAsync(path + "/decisions", cancellationToken);
            Show(
                context.Output,
                JsonText.Object(("function", definition), ("decisions", decisions)),
                plain => FunctionView.Render(definition, decisions, context.Parse.GetValue(last), plain));
        });

        var services = new Command("services", "The services' definitions (GET /v1/services)");
        run.Set(services, async (context, cancellationToken) =>
        {
            var answer = await context.Client.GetAsync("v1/services", cancellationToken);
            Show(context.Output, answer, plain => ServicesView.Render(answer, plain));
        });

        var leader = new Command("leader", "Who leads the aggregators, as the one asked knows it: its role, the leader, the term, where the leader is reached (GET /v1/leader)");
        run.Set(leader, async (context, cancellationToken) =>
        {
            var answer = await context.Client.GetAsync("v1/leader", cancellationToken);
            Show(context.Output, answer, plain => LeaderView.Render(answer, plain));
        });

        return [nodes, gpus, clusters, functions, function, services, leader];
    }

    /// <summary>A name as one path segment, escaped: a name never changes which endpoint is asked.</summary>
    public static string Segment(string name)
        => name is "." or ".." || name.Length == 0
            ? throw new CliException(ExitCodes.Usage, $"'{name}' is not a name")
            : Uri.EscapeDataString(name);

    private static void Show(CliOutput output, JsonElement json, Func<bool, Spectre.Console.Rendering.IRenderable> table)
    {
        if (output.Json)
        {
            output.WriteJson(json);
        }
        else
        {
            output.Write(table);
        }
    }
}
