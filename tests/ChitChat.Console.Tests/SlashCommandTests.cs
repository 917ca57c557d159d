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

    [Fact]
    public void Parses_conversation_and_moderation_commands()
    {
        Assert.Equal(new SlashCommand(CommandKind.Create, "crew", Extra: "private"), SlashCommand.Parse("/create crew Private"));
        Assert.Equal(new SlashCommand(CommandKind.Create, "crew", Extra: "public"), SlashCommand.Parse("/create crew public"));

        var dm = SlashCommand.Parse("/dm bob");
        Assert.Equal((CommandKind.Direct, "bob"), (dm.Kind, dm.Argument));
        Assert.Equal(["bob"], dm.Users!);
        Assert.Equal(["bob", "carol", "dave"], SlashCommand.Parse("/dm bob carol,dave").Users!);

        Assert.Equal(new SlashCommand(CommandKind.Invite, "bob"), SlashCommand.Parse("/invite bob"));
        Assert.Equal(new SlashCommand(CommandKind.Kick, "bob"), SlashCommand.Parse("/KICK  bob "));
        Assert.Equal(new SlashCommand(CommandKind.Members), SlashCommand.Parse("/members"));
        Assert.Equal(new SlashCommand(CommandKind.Ban, "bob"), SlashCommand.Parse("/ban bob"));
        Assert.Equal(new SlashCommand(CommandKind.Ban, "bob", Extra: "spamming the channel"), SlashCommand.Parse("/ban bob spamming the channel"));
    }

    [Fact]
    public void Parses_message_commands_with_the_number_shown_before_each_message()
    {
        Assert.Equal(new SlashCommand(CommandKind.Edit, "fixed the typo", Count: 12), SlashCommand.Parse("/edit 12 fixed the typo"));
        Assert.Equal(new SlashCommand(CommandKind.Edit, "bracketed", Count: 12), SlashCommand.Parse("/EDIT [12] bracketed"));
        Assert.Equal(new SlashCommand(CommandKind.Delete, Count: 7), SlashCommand.Parse("/delete 7"));
        Assert.Equal(new SlashCommand(CommandKind.Delete, Count: 7), SlashCommand.Parse("/delete #7"));
        Assert.Equal(new SlashCommand(CommandKind.React, "👍", Count: 3), SlashCommand.Parse("/react 3 👍"));
        Assert.Equal(new SlashCommand(CommandKind.Reply, "me too, see you there", Count: 41), SlashCommand.Parse("/reply 41  me too, see you there"));
        Assert.Equal(new SlashCommand(CommandKind.Search, "release plan"), SlashCommand.Parse("/search release plan"));
        Assert.Contains("/edit <n> <text>", SlashCommand.Help, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/dm")]
    [InlineData("/invite")]
    [InlineData("/invite bob carol")]
    [InlineData("/kick")]
    [InlineData("/kick bob carol")]
    [InlineData("/ban")]
    [InlineData("/create crew secret")]
    [InlineData("/create crew private extra")]
    [InlineData("/join")]
    [InlineData("/create")]
    [InlineData("/history zero")]
    [InlineData("/history 0")]
    [InlineData("/history 501")]
    [InlineData("/dance")]
    [InlineData("/edit")]
    [InlineData("/edit 12")]
    [InlineData("/edit twelve new text")]
    [InlineData("/edit 0 new text")]
    [InlineData("/delete")]
    [InlineData("/delete x")]
    [InlineData("/delete 12 extra")]
    [InlineData("/react 12")]
    [InlineData("/reply 12")]
    [InlineData("/reply -3 text")]
    [InlineData("/search")]
    [InlineData("/search   ")]
    public void Reports_malformed_commands(string line)
    {
        var command = SlashCommand.Parse(line);
        Assert.Equal(CommandKind.Invalid, command.Kind);
        Assert.False(string.IsNullOrEmpty(command.Argument));
    }
}
