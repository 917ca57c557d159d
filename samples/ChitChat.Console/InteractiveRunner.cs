using System.Globalization;
using System.Text;
using ChitChat.Client;
using ChitChat.Contracts;
using Spectre.Console;

namespace ChitChat.Cli;

/// <summary>The terminal UI: login or registration prompts, a line editor, messages with author and time, presence and typing.</summary>
public sealed class InteractiveRunner(ChitChatClient client, ClientSettings settings, TimeProvider time)
{
    private static readonly TimeSpan TypingInterval = TimeSpan.FromSeconds(3);
    private readonly Lock _screen = new();
    private readonly StringBuilder _input = new();
    private readonly Dictionary<Guid, DateTimeOffset> _typingShown = [];
    private string _room = settings.Room;
    private DateTimeOffset _lastTypingSent = DateTimeOffset.MinValue;

    /// <summary>Prompts for what the command line did not give.</summary>
    /// <param name="settings">The command line.</param>
    /// <returns>User name, password and whether to register.</returns>
    public static (string User, string Password, bool Register) PromptCredentials(ClientSettings settings)
    {
        var register = settings.Register;
        if (settings.User is null && !register)
        {
            register = AnsiConsole.Prompt(new SelectionPrompt<string>().Title("Welcome to [green]ChitChat[/]").AddChoices("Log in", "Register")) == "Register";
        }

        var user = settings.User ?? AnsiConsole.Prompt(new TextPrompt<string>("User name:"));
        var password = settings.Password ?? AnsiConsole.Prompt(new TextPrompt<string>("Password:").Secret());
        return (user, password, register);
    }

    /// <summary>Runs the chat until <c>/quit</c> or Ctrl+C.</summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The exit code.</returns>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        client.PresenceChanged += (_, p) => Print(string.Create(CultureInfo.InvariantCulture, $"[grey]* {Markup.Escape(p.UserName)} {(p.Online ? "joined" : "left")} #{Markup.Escape(p.Room)}[/]"));
        client.TypingReceived += (_, t) => OnTyping(t);
        client.MemberChanged += (_, m) => OnMember(m);
        client.StateChanged += (_, change) => Print(change switch
        {
            { IsReconnect: true } => "[green]reconnected, caught up[/]",
            { State: ChitChatConnectionState.Reconnecting } => $"[yellow]connection lost, reconnecting…{(change.Error is null ? string.Empty : " (" + Markup.Escape(change.Error.Message) + ")")}[/]",
            { State: ChitChatConnectionState.Retrying } => "[yellow]still offline, retrying…[/]",
            { State: ChitChatConnectionState.Disconnected } => "[yellow]disconnected[/]",
            _ => "[green]connected[/]",
        });

        AnsiConsole.MarkupLine($"Signed in as [bold]{Markup.Escape(client.User?.UserName ?? "?")}[/]. Type [blue]/help[/] for commands.");
        await JoinAsync(_room, settings.History ?? 20, cancellationToken);
        while (!cancellationToken.IsCancellationRequested)
        {
            var line = await ReadLineAsync(cancellationToken);
            if (line is null)
            {
                return 0;
            }

            var command = SlashCommand.Parse(line);
            try
            {
                switch (command.Kind)
                {
                    case CommandKind.Say:
                        await client.SendAsync(_room, command.Argument!, cancellationToken);
                        break;
                    case CommandKind.Join:
                        await JoinAsync(command.Argument!.ToLowerInvariant(), 20, cancellationToken);
                        break;
                    case CommandKind.Create:
                        var room = await client.CreateRoomAsync(command.Argument!, command.Extra, cancellationToken: cancellationToken);
                        Print($"[green]created {Markup.Escape(room.Kind)} room #{Markup.Escape(room.Name)}[/] (/join {Markup.Escape(room.Name)})");
                        break;
                    case CommandKind.Direct:
                        var direct = await client.OpenDirectAsync(command.Users!, cancellationToken);
                        await JoinAsync(direct.Name, 20, cancellationToken, $"direct messages with {string.Join(", ", command.Users!)}");
                        break;
                    case CommandKind.Invite:
                        var added = await client.AddMemberAsync(_room, command.Argument!, cancellationToken);
                        Print($"[green]{Markup.Escape(added.UserName)} is a member of #{Markup.Escape(_room)}[/]");
                        break;
                    case CommandKind.Members:
                        var members = new Table().AddColumns("Member", "Role", "Muted until");
                        foreach (var m in await client.GetMembersAsync(_room, cancellationToken))
                        {
                            members.AddRow(Markup.Escape(m.UserName), Markup.Escape(m.Role), m.MutedUntil is { } until ? until.ToLocalTime().ToString("g", CultureInfo.CurrentCulture) : string.Empty);
                        }

                        lock (_screen)
                        {
                            AnsiConsole.Write(members);
                        }

                        break;
                    case CommandKind.Kick:
                        await client.RemoveMemberAsync(_room, command.Argument!, cancellationToken);
                        Print($"[green]{Markup.Escape(command.Argument!)} removed from #{Markup.Escape(_room)}[/]");
                        break;
                    case CommandKind.Ban:
                        await client.BanAsync(_room, command.Argument!, command.Extra, cancellationToken: cancellationToken);
                        Print($"[green]{Markup.Escape(command.Argument!)} banned from #{Markup.Escape(_room)}[/]");
                        break;
                    case CommandKind.Rooms:
                        var table = new Table().AddColumns("Room", "Kind", "Role", "Unread", "Created");
                        foreach (var r in await client.GetRoomsAsync(cancellationToken))
                        {
                            table.AddRow(
                                Markup.Escape(r.Name == _room ? r.Name + " (current)" : r.Name),
                                Markup.Escape(r.Kind),
                                Markup.Escape(r.Role ?? string.Empty),
                                r.Unread == 0 ? string.Empty : r.Mentions == 0 ? r.Unread.ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{r.Unread} (@{r.Mentions})"),
                                r.CreatedAt.ToLocalTime().ToString("g", CultureInfo.CurrentCulture));
                        }

                        lock (_screen)
                        {
                            AnsiConsole.Write(table);
                        }

                        break;
                    case CommandKind.Edit:
                        await client.EditMessageAsync(_room, (await client.FindMessageAsync(_room, command.Count, cancellationToken)).Id, command.Argument!, cancellationToken);
                        break;
                    case CommandKind.Delete:
                        await client.DeleteMessageAsync(_room, (await client.FindMessageAsync(_room, command.Count, cancellationToken)).Id, cancellationToken);
                        break;
                    case CommandKind.React:
                        await client.ReactAsync(_room, (await client.FindMessageAsync(_room, command.Count, cancellationToken)).Id, command.Argument!, cancellationToken);
                        break;
                    case CommandKind.Reply:
                        await client.ReplyAsync(_room, (await client.FindMessageAsync(_room, command.Count, cancellationToken)).Id, command.Argument!, cancellationToken: cancellationToken);
                        break;
                    case CommandKind.Search:
                        var found = await client.SearchAsync(command.Argument!, cancellationToken: cancellationToken);
                        Print($"[blue]── {found.Count} found for \"{Markup.Escape(command.Argument!)}\" ──[/]");
                        foreach (var message in found)
                        {
                            Print(FormatMessage(message, showRoom: true));
                        }

                        break;
                    case CommandKind.Who:
                        var users = await client.GetPresenceAsync(_room, cancellationToken);
                        Print($"[grey]online in #{Markup.Escape(_room)}:[/] {Markup.Escape(string.Join(", ", users.Select(u => u.UserName)))}");
                        break;
                    case CommandKind.History:
                        foreach (var message in await client.GetHistoryAsync(_room, command.Count, cancellationToken: cancellationToken))
                        {
                            Print(FormatMessage(message));
                        }

                        break;
                    case CommandKind.Help:
                        Print(Markup.Escape(SlashCommand.Help));
                        break;
                    case CommandKind.Quit:
                        return 0;
                    case CommandKind.Invalid:
                        Print($"[red]{Markup.Escape(command.Argument!)}[/]");
                        break;
                }
            }
            catch (ChitChatException ex)
            {
                Print($"[red]{Markup.Escape(ex.Code)}: {Markup.Escape(ex.Message)}[/]");
            }
        }

        return 0;
    }

    private async Task JoinAsync(string room, int recent, CancellationToken cancellationToken, string? title = null)
    {
        Print($"[blue]── {Markup.Escape(title ?? "#" + room)} ──[/]");
        await client.JoinWithRecentAsync(room, recent, m => Print(FormatMessage(m)), cancellationToken, OnRemoved, u => Print(FormatUpdate(u)));
        _room = room;
    }

    private string FormatUpdate(MessageUpdated u) => u.Change switch
    {
        MessageChanges.Deleted => $"[grey][[{u.Message.Seq}]] {Markup.Escape(u.Message.AuthorName)}'s message was deleted[/]",
        MessageChanges.Reactions => $"[grey][[{u.Message.Seq}]] reactions: {Markup.Escape(u.Message.DescribeReactions())}[/]",
        _ => FormatMessage(u.Message) + " [grey](edited)[/]",
    };

    private void OnMember(MemberEvent m)
    {
        var what = m.Change switch
        {
            MemberChanges.Added => $"was added to #{m.Room}",
            MemberChanges.Removed => $"left or was removed from #{m.Room}",
            MemberChanges.Banned => $"was banned from #{m.Room}",
            MemberChanges.Role => $"is now {m.Role} of #{m.Room}",
            MemberChanges.Muted => $"was muted or unmuted in #{m.Room}",
            _ => $"changed in #{m.Room} ({m.Change})",
        };
        Print($"[grey]* {Markup.Escape(m.UserName)} {Markup.Escape(what)}[/]");
    }

    private void OnRemoved(RemovedEvent removed)
    {
        var why = removed.Reason switch
        {
            "removed" => "you were removed",
            "banned" => "you were banned",
            "left" => "you left",
            var reason => "you were banned: " + reason,
        };
        Print($"[red]── you are no longer in #{Markup.Escape(removed.Room)} ({Markup.Escape(why)}) ──[/]");
        if (removed.Room == _room)
        {
            _room = "global";
            Print("[grey]now writing to #global (/join another room)[/]");
        }
    }

    /// <summary>One message line: <c>[seq] HH:mm author: text</c>; the <c>[seq]</c> is the <c>n</c> of /edit, /delete, /react and /reply.</summary>
    private string FormatMessage(MessageDto m, bool showRoom = false)
    {
        var when = m.SentAt.ToLocalTime().ToString("HH:mm", CultureInfo.CurrentCulture);
        var mine = m.AuthorId == client.User?.Id;
        var room = m.Room == _room && !showRoom ? string.Empty : $"[grey]#{Markup.Escape(m.Room)}[/] ";
        var reply = m.ReplyTo is null ? string.Empty : "[grey]↳[/] ";
        var text = m.Deleted ? "[grey](deleted)[/]" : Markup.Escape(m.Text) + (m.EditedAt is null ? string.Empty : " [grey](edited)[/]");
        var reactions = m.Reactions.Count == 0 ? string.Empty : $" [grey]{Markup.Escape(m.DescribeReactions())}[/]";
        return string.Create(CultureInfo.InvariantCulture, $"[grey][[{m.Seq}]] {when}[/] {room}{reply}[{(mine ? "green" : "aqua")}]{Markup.Escape(m.AuthorName)}[/]: {text}{reactions}");
    }

    private void OnTyping(TypingEvent typing)
    {
        if (typing.Room != _room || typing.UserId == client.User?.Id)
        {
            return;
        }

        var now = time.GetUtcNow();
        lock (_screen)
        {
            if (_typingShown.TryGetValue(typing.UserId, out var shown) && now - shown < TypingInterval)
            {
                return;
            }

            _typingShown[typing.UserId] = now;
        }

        Print($"[grey italic]{Markup.Escape(typing.UserName)} is typing…[/]");
    }

    /// <summary>Prints a line above the input line and redraws what the user has typed so far.</summary>
    private void Print(string markup)
    {
        lock (_screen)
        {
            if (!Console.IsOutputRedirected && !Console.IsInputRedirected)
            {
                Console.Write("\r" + new string(' ', Math.Min(Console.BufferWidth - 1, _input.Length + 4)) + "\r");
            }

            AnsiConsole.MarkupLine(markup);
            if (!Console.IsInputRedirected)
            {
                Console.Write("> " + _input);
            }
        }
    }

    /// <summary>Reads a line key by key (so typing can be announced), or with ReadLine when stdin is redirected.</summary>
    private async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        if (Console.IsInputRedirected)
        {
            return await Console.In.ReadLineAsync(cancellationToken);
        }

        lock (_screen)
        {
            Console.Write("> ");
        }

        while (!cancellationToken.IsCancellationRequested)
        {
            if (!Console.KeyAvailable)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(25), time, cancellationToken); // poll the keyboard without blocking message output
                continue;
            }

            var key = Console.ReadKey(intercept: true);
            lock (_screen)
            {
                switch (key.Key)
                {
                    case ConsoleKey.Enter:
                        var line = _input.ToString();
                        _input.Clear();
                        Console.WriteLine();
                        return line;
                    case ConsoleKey.Backspace when _input.Length > 0:
                        _input.Length--;
                        Console.Write("\b \b");
                        continue;
                    default:
                        if (!char.IsControl(key.KeyChar))
                        {
                            _input.Append(key.KeyChar);
                            Console.Write(key.KeyChar);
                        }

                        break;
                }
            }

            var now = time.GetUtcNow();
            if (now - _lastTypingSent > TypingInterval && _input.Length > 0 && !_input.ToString().StartsWith('/'))
            {
                _lastTypingSent = now;
                _ = client.TypingAsync(_room, cancellationToken);
            }
        }

        return null;
    }
}
