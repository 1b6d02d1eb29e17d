using System.CommandLine;
using System.Text;
using Drover.Cli.Apply;

namespace Drover.Cli.Commands;

/// <summary>
/// <c>droverctl apply -f FILE</c>: PUTs each document of a YAML or JSON file (or stdin, <c>-f -</c>) to
/// <c>/v1/{kind}s/{name}</c>, in order, reporting each; the first refusal stops it with the aggregator's problem
/// detail, and the documents after it are not sent. Every document is read and checked before the first is sent.
/// </summary>
internal static class ApplyCommand
{
    public static Command Create(CommandRunner run)
    {
        var file = new Option<string>("--file", "-f")
        {
            Description = "The YAML or JSON file: one or more documents {kind: function|service|cluster, name: NAME, spec: {...}} ('-' reads stdin)",
            HelpName = "FILE",
            Required = true,
        };
        var command = new Command("apply", "Defines functions and services and sets clusters from a YAML or JSON file (PUT /v1/functions|services|clusters/{name}); stops at the first refusal") { file };
        run.Set(command, async (context, cancellationToken) =>
        {
            var path = context.Parse.GetValue(file)!;
            var (text, source) = path == "-" ? (await ReadLimitedAsync(context.Host.In, cancellationToken), "stdin") : (ReadFile(path), path);
            var documents = DocumentReader.Read(text, source);
            for (var i = 0; i < documents.Count; i++)
            {
                var document = documents[i];
                try
                {
                    var body = Encoding.UTF8.GetBytes(document.Spec.ToJsonString());
                    var answer = await context.Client.SendAsync(HttpMethod.Put, document.Path, body, cancellationToken, subject: document.Label);
                    if (context.Output.Json)
                    {
                        context.Output.WriteJson(answer.Body);
                    }
                    else
                    {
                        context.Output.WriteLine($"{document.Label} {(answer.StatusCode == 201 ? "created" : "configured")}");
                    }
                }
                catch (CliException ex) when (i < documents.Count - 1)
                {
                    var left = documents.Count - 1 - i;
                    throw new CliException(ex.ExitCode, $"{ex.Message}\ndroverctl: stopped: {left} later document{(left == 1 ? " was" : "s were")} not sent ({string.Join(", ", documents.Skip(i + 1).Select(d => d.Label))})");
                }
            }
        });
        return command;
    }

    private static string ReadFile(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > DocumentReader.MaxInputChars)
            {
                throw new CliException(ExitCodes.Usage, $"{path}: {info.Length} bytes; expected at most {DocumentReader.MaxInputChars}");
            }

            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Usage, $"{path}: cannot be read: {ex.Message}");
        }
    }

    private static async Task<string> ReadLimitedAsync(TextReader reader, CancellationToken cancellationToken)
    {
        var buffer = new char[DocumentReader.MaxInputChars + 1];
        var read = 0;
        int chunk;
        while (read < buffer.Length && (chunk = await reader.ReadAsync(buffer.AsMemory(read), cancellationToken)) > 0)
        {
            read += chunk;
        }

        return read > DocumentReader.MaxInputChars
            ? throw new CliException(ExitCodes.Usage, $"stdin: more than {DocumentReader.MaxInputChars} characters")
            : new string(buffer, 0, read);
    }
}
