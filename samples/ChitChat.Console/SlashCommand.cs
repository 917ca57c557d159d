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
    /// <summary><c>/create &lt;room&gt;</c>.</summary>
    Create,
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
/// <param name="Argument">The text, room name or error.</param>
/// <param name="Count">The count of <c>/history</c>.</param>
public sealed record SlashCommand(CommandKind Kind, string? Argument = null, int Count = 0)
{
    /// <summary>The help text.</summary>
    public const string Help = """
        /join <room>     join a room and make it current
        /rooms           list the rooms
        /create <room>   create a room (then /join it)
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
        return name switch
        {
            "join" or "create" when string.IsNullOrEmpty(argument) => new(CommandKind.Invalid, $"/{name} needs a room name"),
            "join" => new(CommandKind.Join, argument),
            "create" => new(CommandKind.Create, argument),
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
}
