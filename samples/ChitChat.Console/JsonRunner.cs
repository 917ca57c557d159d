using System.Text.Json;
using ChitChat.Cli.Client;

namespace ChitChat.Cli;

/// <summary>
/// <c>--json</c>: reads lines from stdin and sends each to the current room (slash commands work too), prints every
/// received message as one JSON line on stdout and nothing else there (diagnostics go to stderr). Exits when stdin closes
/// and every send was acked, or on <c>/quit</c>.
/// </summary>
public sealed class JsonRunner(ChatClient client, ClientSettings settings, TextReader input, TextWriter output, TextWriter diagnostics)
{
    private readonly Lock _outputLock = new();

    /// <summary>Runs until stdin closes or <c>/quit</c>.</summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The exit code: 0, or 1 when a send was refused.</returns>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        client.MessageReceived += m =>
        {
            var line = JsonSerializer.Serialize(m, Wire.Options);
            lock (_outputLock)
            {
                output.WriteLine(line);
                output.Flush();
            }
        };
        client.ConnectionChanged += (state, reason) => Diagnose($"connection: {state.ToString().ToLowerInvariant()}{(reason is null ? string.Empty : " (" + reason + ")")}");

        var room = settings.Room;
        await client.JoinRoomAsync(room, settings.History ?? 0, cancellationToken);
        Diagnose($"joined: {room}");
        var failures = 0;
        while (await input.ReadLineAsync(cancellationToken) is { } line)
        {
            var command = SlashCommand.Parse(line);
            try
            {
                switch (command.Kind)
                {
                    case CommandKind.Say:
                        var ack = await client.SendAsync(room, command.Argument!, cancellationToken);
                        Diagnose($"ack: {room} {ack.Seq}");
                        break;
                    case CommandKind.Join:
                        room = command.Argument!.ToLowerInvariant();
                        await client.JoinRoomAsync(room, settings.History ?? 0, cancellationToken);
                        Diagnose($"joined: {room}");
                        break;
                    case CommandKind.Create:
                        var created = await client.CreateRoomAsync(command.Argument!, cancellationToken);
                        Diagnose($"created: {created.Name}");
                        break;
                    case CommandKind.Rooms:
                        Diagnose("rooms: " + string.Join(" ", (await client.GetRoomsAsync(cancellationToken)).Select(r => r.Name)));
                        break;
                    case CommandKind.Who:
                        Diagnose("who: " + string.Join(" ", (await client.GetPresenceAsync(room, cancellationToken)).Select(u => u.UserName)));
                        break;
                    case CommandKind.History:
                        foreach (var message in await client.GetHistoryAsync(room, command.Count, cancellationToken))
                        {
                            Diagnose($"history: {message.Seq} {message.AuthorName}: {message.Text}");
                        }

                        break;
                    case CommandKind.Help:
                        Diagnose(SlashCommand.Help);
                        break;
                    case CommandKind.Quit:
                        return failures == 0 ? 0 : 1;
                    case CommandKind.Invalid:
                        Diagnose("error: " + command.Argument);
                        break;
                }
            }
            catch (ChatClientException ex)
            {
                failures++;
                Diagnose("error: " + ex);
            }
        }

        return failures == 0 ? 0 : 1;
    }

    private void Diagnose(string text)
    {
        lock (_outputLock)
        {
            diagnostics.WriteLine(text);
            diagnostics.Flush();
        }
    }
}
