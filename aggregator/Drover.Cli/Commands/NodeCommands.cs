using System.CommandLine;
using Drover.Cli.Views;

namespace Drover.Cli.Commands;

/// <summary><c>droverctl drain NODE</c> and <c>resume NODE</c>: POST /v1/nodes/{id}/drain and .../resume.</summary>
internal static class NodeCommands
{
    public static IEnumerable<Command> Create(CommandRunner run)
    {
        yield return Create(run, "drain", "Tells a node to report 'draining': it takes no new instances (POST /v1/nodes/{id}/drain)", "draining");
        yield return Create(run, "resume", "Tells a draining node to report 'alive' again (POST /v1/nodes/{id}/resume)", "alive");
    }

    private static Command Create(CommandRunner run, string verb, string description, string survival)
    {
        var node = new Argument<string>("NODE") { Description = "The node's id (droverctl nodes lists them)" };
        var command = new Command(verb, description) { node };
        run.Set(command, async (context, cancellationToken) =>
        {
            var nodeId = context.Parse.GetValue(node)!;
            var answer = await context.Client.SendAsync(HttpMethod.Post, $"v1/nodes/{ReadCommands.Segment(nodeId)}/{verb}", null, cancellationToken);
            if (context.Output.Json)
            {
                context.Output.WriteJson(answer.Body);
            }
            else
            {
                context.Output.WriteLine($"node {nodeId}: told to report '{survival}' (command {Field.Text(answer.Body, "commandId")}); its next heartbeat shows it");
            }
        });
        return command;
    }
}
