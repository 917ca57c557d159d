using ChitChat.Cli;

namespace ChitChat.Console.Tests;

public sealed class SlashCommandTests
{
    [Theory]
    [InlineData("hello", CommandKind.Say, "hello", 0)]
    [InlineData("//not a command", CommandKind.Say, "/not a command", 0)]
    [InlineData("/join lounge", CommandKind.Join, "lounge", 0)]
    [InlineData("/JOIN  Lounge ", CommandKind.Join, "Lounge", 0)]
    [InlineData("/create dev", CommandKind.Create, "dev", 0)]
    [InlineData("/rooms", CommandKind.Rooms, null, 0)]
    [InlineData("/who", CommandKind.Who, null, 0)]
    [InlineData("/history", CommandKind.History, null, 20)]
    [InlineData("/history 5", CommandKind.History, null, 5)]
    [InlineData("/help", CommandKind.Help, null, 0)]
    [InlineData("/quit", CommandKind.Quit, null, 0)]
    [InlineData("   ", CommandKind.Empty, null, 0)]
    public void Parses_lines(string line, CommandKind kind, string? argument, int count)
    {
        var command = SlashCommand.Parse(line);
        Assert.Equal(kind, command.Kind);
        Assert.Equal(argument, command.Argument);
        Assert.Equal(count, command.Count);
    }

    [Theory]
    [InlineData("/join")]
    [InlineData("/create")]
    [InlineData("/history zero")]
    [InlineData("/history 0")]
    [InlineData("/history 501")]
    [InlineData("/dance")]
    public void Reports_malformed_commands(string line)
    {
        var command = SlashCommand.Parse(line);
        Assert.Equal(CommandKind.Invalid, command.Kind);
        Assert.False(string.IsNullOrEmpty(command.Argument));
    }
}
