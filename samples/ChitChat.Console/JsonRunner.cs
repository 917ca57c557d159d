using System.Text.Json;
using ChitChat.Client;
using ChitChat.Contracts;

namespace ChitChat.Cli;

/// <summary>
/// <c>--json</c>: reads lines from stdin and sends each to the current room (slash commands work too), prints every
/// received message as one JSON line on stdout and nothing else there (diagnostics go to stderr). Exits when stdin closes
/// and every send was acked, or on <c>/quit</c>.
/// </summary>
public sealed class JsonRunner(ChitChatClient client, ClientSettings settings, TextReader input, TextWriter output, TextWriter diagnostics)
{
    private readonly Lock _outputLock = new();

    /// <summary>Runs until stdin closes or <c>/quit</c>.</summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The exit code: 0, or 1 when a send was refused.</returns>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        client.StateChanged += (_, change) => Diagnose($"connection: {change.Describe()}{(change.Error is null ? string.Empty : " (" + change.Error.Message + ")")}");
        client.MemberChanged += (_, m) => Diagnose($"member: {m.Room} {m.UserName} {m.Change} {m.Role}");

        var room = settings.Room.ToLowerInvariant();
        await JoinAsync(room, cancellationToken);
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
                        await JoinAsync(room, cancellationToken);
                        break;
                    case CommandKind.Create:
                        var created = await client.CreateRoomAsync(command.Argument!, command.Extra, cancellationToken: cancellationToken);
                        Diagnose($"created: {created.Name}");
                        break;
                    case CommandKind.Direct:
                        var direct = await client.OpenDirectAsync(command.Users!, cancellationToken);
                        room = direct.Name;
                        await JoinAsync(room, cancellationToken);
                        break;
                    case CommandKind.Invite:
                        var added = await client.AddMemberAsync(room, command.Argument!, cancellationToken);
                        Diagnose($"invited: {added.UserName} {room}");
                        break;
                    case CommandKind.Members:
                        Diagnose("members: " + string.Join(" ", (await client.GetMembersAsync(room, cancellationToken)).Select(m => $"{m.UserName}({m.Role})")));
                        break;
                    case CommandKind.Kick:
                        await client.RemoveMemberAsync(room, command.Argument!, cancellationToken);
                        Diagnose($"kicked: {command.Argument} {room}");
                        break;
                    case CommandKind.Ban:
                        await client.BanAsync(room, command.Argument!, command.Extra, cancellationToken: cancellationToken);
                        Diagnose($"banned: {command.Argument} {room}");
                        break;
                    case CommandKind.Rooms:
                        Diagnose("rooms: " + string.Join(" ", (await client.GetRoomsAsync(cancellationToken)).Select(r => r.Unread > 0 ? $"{r.Name}(unread={r.Unread},mentions={r.Mentions})" : r.Name)));
                        break;
                    case CommandKind.Edit:
                        var target = await client.FindMessageAsync(room, command.Count, cancellationToken);
                        await client.EditMessageAsync(room, target.Id, command.Argument!, cancellationToken);
                        Diagnose($"edited: {room} {command.Count}");
                        break;
                    case CommandKind.Delete:
                        await client.DeleteMessageAsync(room, (await client.FindMessageAsync(room, command.Count, cancellationToken)).Id, cancellationToken);
                        Diagnose($"deleted: {room} {command.Count}");
                        break;
                    case CommandKind.React:
                        await client.ReactAsync(room, (await client.FindMessageAsync(room, command.Count, cancellationToken)).Id, command.Argument!, cancellationToken);
                        Diagnose($"reacted: {room} {command.Count} {command.Argument}");
                        break;
                    case CommandKind.Reply:
                        var replyAck = await client.ReplyAsync(room, (await client.FindMessageAsync(room, command.Count, cancellationToken)).Id, command.Argument!, cancellationToken: cancellationToken);
                        Diagnose($"ack: {room} {replyAck.Seq}");
                        break;
                    case CommandKind.Search:
                        var found = await client.SearchAsync(command.Argument!, cancellationToken: cancellationToken);
                        foreach (var message in found)
                        {
                            Diagnose($"found: {message.Room} {message.Seq} {message.AuthorName}: {message.Text}");
                        }

                        Diagnose($"search: {found.Count} found");
                        break;
                    case CommandKind.Who:
                        Diagnose("who: " + string.Join(" ", (await client.GetPresenceAsync(room, cancellationToken)).Select(u => u.UserName)));
                        break;
                    case CommandKind.History:
                        foreach (var message in await client.GetHistoryAsync(room, command.Count, cancellationToken: cancellationToken))
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
            catch (ChitChatException ex)
            {
                failures++;
                Diagnose($"error: {ex.Code}: {ex.Message}");
            }
        }

        return failures == 0 ? 0 : 1;
    }

    private async Task JoinAsync(string room, CancellationToken cancellationToken)
    {
        await client.JoinWithRecentAsync(
            room,
            settings.History ?? 0,
            Print,
            cancellationToken,
            onRemoved: r => Diagnose($"removed: {r.Room} {r.Reason}"),
            onUpdate: u => Diagnose($"updated: {u.Room} {u.Message.Seq} {u.Change} {(u.Change == MessageChanges.Reactions ? u.Message.DescribeReactions() : u.Message.Text)}"));
        Diagnose($"joined: {room}");
    }

    private void Print(MessageDto message)
    {
        var line = JsonSerializer.Serialize(message, JsonSerializerOptions.Web);
        lock (_outputLock)
        {
            output.WriteLine(line);
            output.Flush();
        }
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
