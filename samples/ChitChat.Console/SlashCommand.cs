using System.Globalization;

namespace ChitChat.Cli;

/// <summary>The kinds of input line.</summary>
public enum CommandKind
{
    /// <summary>Plain text to send to the current room.</summary>
    Say,
    /// <summary><c>/join &lt;room&gt;</c>.</summary>
    Join,
    /// <summary><c>/rooms</c>.</summary>
    Rooms,
    /// <summary><c>/create &lt;room&gt; [public|private]</c>; <see cref="SlashCommand.Extra"/> holds the kind.</summary>
    Create,
    /// <summary><c>/dm &lt;user&gt; [user...]</c>: open the direct room with those users and make it current; <see cref="SlashCommand.Users"/> holds them.</summary>
    Direct,
    /// <summary><c>/invite &lt;user&gt;</c>: add a member to the current room.</summary>
    Invite,
    /// <summary><c>/members</c>: the current room's members and roles.</summary>
    Members,
    /// <summary><c>/kick &lt;user&gt;</c>: remove a member from the current room.</summary>
    Kick,
    /// <summary><c>/ban &lt;user&gt; [reason]</c>: remove and bar a user from the current room; <see cref="SlashCommand.Extra"/> holds the reason.</summary>
    Ban,
    /// <summary><c>/edit &lt;n&gt; &lt;text&gt;</c>: edit the current room's message <c>[n]</c> (its seq, shown before each line).</summary>
    Edit,
    /// <summary><c>/delete &lt;n&gt;</c>: delete the current room's message <c>[n]</c>.</summary>
    Delete,
    /// <summary><c>/react &lt;n&gt; &lt;emoji&gt;</c>: react to the current room's message <c>[n]</c>.</summary>
    React,
    /// <summary><c>/reply &lt;n&gt; &lt;text&gt;</c>: reply to the current room's message <c>[n]</c>.</summary>
    Reply,
    /// <summary><c>/search &lt;words&gt;</c>: search the messages of every readable room.</summary>
    Search,
    /// <summary><c>/who</c>.</summary>
    Who,
    /// <summary><c>/history [n]</c>.</summary>
    History,
    /// <summary><c>/help</c>.</summary>
    Help,
    /// <summary><c>/quit</c>.</summary>
    Quit,
    /// <summary>An unknown or malformed command; <see cref="SlashCommand.Argument"/> holds the error.</summary>
    Invalid,
    /// <summary>An empty line.</summary>
    Empty,
}

/// <summary>A parsed input line.</summary>
/// <param name="Kind">The kind.</param>
/// <param name="Argument">The text, room name, user name or error.</param>
/// <param name="Count">The count of <c>/history</c>, or the message number <c>n</c> (its seq) of <c>/edit</c>, <c>/delete</c>, <c>/react</c>, <c>/reply</c>.</param>
/// <param name="Extra">The kind of <c>/create</c> (<c>public</c> or <c>private</c>, <see langword="null"/> for the default) or the reason of <c>/ban</c>.</param>
/// <param name="Users">The user names of <c>/dm</c>.</param>
public sealed record SlashCommand(CommandKind Kind, string? Argument = null, int Count = 0, string? Extra = null, IReadOnlyList<string>? Users = null)
{
    /// <summary>The help text.</summary>
    public const string Help = """
        /join <room>     join a room and make it current
        /rooms           list the rooms with unread messages and mentions
        /create <room> [private]
                         create a room, public or private (then /join it)
        /dm <user> [user...]
                         open the direct conversation with those users and make it current
        /members         the current room's members and their roles
        /invite <user>   add a member to the current room (owners and moderators)
        /kick <user>     remove a member from the current room (owners and moderators)
        /ban <user> [reason]
                         remove a user and bar them from rejoining (owners and moderators)
        /edit <n> <text> edit your message [n] of the current room (n: the number shown before each message)
        /delete <n>      delete message [n] (yours; owners and moderators any)
        /react <n> <emoji>
                         react to message [n]
        /reply <n> <text>
                         reply to message [n]
        /search <words>  find messages with every word, in every room you can read
        /who             who is online in the current room
        /history [n]     show the last n messages (default 20)
        /help            this help
        /quit            leave
        Anything else is sent to the current room; start a line with // to send a leading /.
        """;

    /// <summary>Parses a line.</summary>
    /// <param name="line">The line.</param>
    /// <returns>The command.</returns>
    public static SlashCommand Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (string.IsNullOrWhiteSpace(line))
        {
            return new(CommandKind.Empty);
        }

        if (!line.StartsWith('/'))
        {
            return new(CommandKind.Say, line);
        }

        if (line.StartsWith("//", StringComparison.Ordinal))
        {
            return new(CommandKind.Say, line[1..]);
        }

        var parts = line[1..].Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var name = parts.Length > 0 ? parts[0].ToLowerInvariant() : string.Empty;
        var argument = parts.Length > 1 ? parts[1] : null;
        var words = argument?.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries) ?? [];
        return name switch
        {
            "join" or "create" when string.IsNullOrEmpty(argument) => new(CommandKind.Invalid, $"/{name} needs a room name"),
            "join" => new(CommandKind.Join, argument),
            "create" when words.Length == 1 => new(CommandKind.Create, words[0]),
            "create" when words.Length == 2 && words[1].ToLowerInvariant() is "public" or "private" => new(CommandKind.Create, words[0], Extra: words[1].ToLowerInvariant()),
            "create" => new(CommandKind.Invalid, "/create takes a room name and optionally public or private"),
            "dm" or "msg" when words.Length == 0 => new(CommandKind.Invalid, $"/{name} needs at least one user name"),
            "dm" or "msg" => new(CommandKind.Direct, words[0], Users: words),
            "invite" or "kick" or "ban" when words.Length == 0 => new(CommandKind.Invalid, $"/{name} needs a user name"),
            "invite" or "kick" when words.Length > 1 => new(CommandKind.Invalid, $"/{name} takes one user name"),
            "invite" => new(CommandKind.Invite, words[0]),
            "kick" => new(CommandKind.Kick, words[0]),
            "ban" => new(CommandKind.Ban, words[0], Extra: argument!.Split(' ', 2, StringSplitOptions.TrimEntries) is [_, var reason] && reason.Length > 0 ? reason : null),
            "edit" or "reply" or "react" when ParseNumbered(argument, needsRest: true) is var (n, rest) && n > 0 && rest is not null =>
                new(name switch { "edit" => CommandKind.Edit, "reply" => CommandKind.Reply, _ => CommandKind.React }, rest, Count: (int)n),
            "edit" or "reply" => new(CommandKind.Invalid, $"/{name} takes a message number and a text, e.g. /{name} 12 new text"),
            "react" => new(CommandKind.Invalid, "/react takes a message number and an emoji, e.g. /react 12 👍"),
            "delete" when ParseNumbered(argument, needsRest: false) is var (n, rest) && n > 0 && rest is null => new(CommandKind.Delete, Count: (int)n),
            "delete" => new(CommandKind.Invalid, "/delete takes a message number, e.g. /delete 12"),
            "search" when string.IsNullOrWhiteSpace(argument) => new(CommandKind.Invalid, "/search needs words to look for"),
            "search" => new(CommandKind.Search, argument),
            "members" => new(CommandKind.Members),
            "rooms" => new(CommandKind.Rooms),
            "who" => new(CommandKind.Who),
            "help" or "?" => new(CommandKind.Help),
            "quit" or "exit" => new(CommandKind.Quit),
            "history" when argument is null => new(CommandKind.History, Count: 20),
            "history" when int.TryParse(argument, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 500 => new(CommandKind.History, Count: n),
            "history" => new(CommandKind.Invalid, "/history takes a number from 1 to 500"),
            _ => new(CommandKind.Invalid, $"unknown command /{name} (try /help)"),
        };
    }

    /// <summary>Splits <c>&lt;n&gt; [rest]</c>; n is 0 when it is no positive number (a leading <c>[</c>/<c>]</c> or <c>#</c> is allowed: <c>[12]</c>, <c>#12</c>).</summary>
    private static (long N, string? Text) ParseNumbered(string? argument, bool needsRest)
    {
        if (argument is null)
        {
            return (0, null);
        }

        var parts = argument.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var number = parts[0].Trim('[', ']', '#');
        if (!long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n is < 1 or > int.MaxValue)
        {
            return (0, null);
        }

        var rest = parts.Length > 1 && parts[1].Length > 0 ? parts[1] : null;
        return needsRest && rest is null ? (0, null) : (n, rest);
    }
}
