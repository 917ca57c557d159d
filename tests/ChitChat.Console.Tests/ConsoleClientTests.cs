// Every await here is bounded by its own WaitAsync/timeout; the test cancellation token adds nothing.
#pragma warning disable xUnit1051

using System.Text.Json;
using ChitChat.Contracts;
using ChitChat.Testing;
using Microsoft.AspNetCore.SignalR.Client;

namespace ChitChat.Console.Tests;

public sealed class ConsoleClientTests
{
    [Fact]
    public async Task Json_mode_sends_stdin_lines_and_prints_received_messages_as_json_lines()
    {
        await using var server = ServerFixture.Start();
        await using var bob = await server.ConnectUserAsync("bob");
        await using var console = ConsoleProcess.Start(server.Address, "alice", register: true);
        await console.WaitForStderrAsync(l => l == "joined: global", "console joins global");

        // Console -> native client.
        await console.SendLineAsync("hello from the console");
        var received = await bob.WaitForAsync(m => m.Text == "hello from the console", "bob receives the console's line");
        Assert.Equal("alice", received.AuthorName);
        Assert.Equal("global", received.Room);

        // The console prints every message it receives (its own echo included) as one JSON line in the PROTOCOL.md shape.
        var own = await console.NextMessageAsync("console prints its own message");
        Assert.Equal("hello from the console", own.GetProperty("text").GetString());

        var seq = await bob.SendAsync("global", "hi alice");
        var line = await console.NextMessageAsync("console prints bob's message");
        Assert.Equal("hi alice", line.GetProperty("text").GetString());
        Assert.Equal("bob", line.GetProperty("authorName").GetString());
        Assert.Equal(seq, line.GetProperty("seq").GetInt64());
        Assert.Equal("global", line.GetProperty("room").GetString());
        foreach (var property in new[] { "id", "authorId", "sentAt", "clientMessageId" })
        {
            Assert.True(line.TryGetProperty(property, out _), property);
        }

        // Closing stdin ends the client cleanly, and stdout held nothing but JSON messages.
        console.CloseInput();
        await console.ExpectExitAsync(0, "console exits when stdin closes");
        Assert.All(console.RemainingLines(), l => JsonDocument.Parse(l).RootElement.GetProperty("seq").GetInt64());
    }

    [Fact]
    public async Task Pending_sends_are_acked_before_exit_when_stdin_closes()
    {
        await using var server = ServerFixture.Start();
        await using var bob = await server.ConnectUserAsync("bob");
        await using var console = ConsoleProcess.Start(server.Address, "alice", register: true);
        for (var i = 1; i <= 5; i++)
        {
            await console.SendLineAsync($"line {i}");
        }

        console.CloseInput();
        await console.ExpectExitAsync(0, "console exits after its sends");
        for (var i = 1; i <= 5; i++)
        {
            var text = $"line {i}";
            await bob.WaitForAsync(m => m.Text == text, $"bob receives {text}");
        }

        Assert.Equal(5, console.Stderr.Split('\n').Count(l => l.StartsWith("ack: global ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Slash_commands_work_in_json_mode_and_quit_exits()
    {
        await using var server = ServerFixture.Start();
        await using var console = ConsoleProcess.Start(server.Address, "alice", register: true);
        await console.SendLineAsync("/create lounge");
        await console.WaitForStderrAsync(l => l == "created: lounge", "room created");
        await using var bob = await server.ConnectUserAsync("bob", "lounge");
        await console.SendLineAsync("/join lounge");
        await console.WaitForStderrAsync(l => l == "joined: lounge", "console joins lounge");
        await console.SendLineAsync("hello lounge");
        var received = await bob.WaitForAsync(m => m.Text == "hello lounge", "bob receives in lounge");
        Assert.Equal("lounge", received.Room);
        await console.SendLineAsync("/rooms");
        await console.WaitForStderrAsync(l => l.StartsWith("rooms:", StringComparison.Ordinal) && l.Contains("lounge", StringComparison.Ordinal) && l.Contains("global", StringComparison.Ordinal), "rooms listed");
        await console.SendLineAsync("/who");
        await console.WaitForStderrAsync(l => l.StartsWith("who:", StringComparison.Ordinal) && l.Contains("bob", StringComparison.Ordinal), "who lists bob");
        await console.SendLineAsync("/nonsense");
        await console.WaitForStderrAsync(l => l.StartsWith("error: unknown command", StringComparison.Ordinal), "unknown command reported");

        // /quit exits although stdin is still open.
        await console.SendLineAsync("/quit");
        await console.ExpectExitAsync(0, "console exits on /quit");
    }

    [Fact]
    public async Task Direct_messages_private_rooms_and_moderation_work_from_the_console()
    {
        await using var server = ServerFixture.Start();
        await using var bob = await server.ConnectUserAsync("bob");
        await using var alice = ConsoleProcess.Start(server.Address, "alice", register: true);
        await alice.WaitForStderrAsync(l => l == "joined: global", "alice joins global");

        // /dm opens the direct room with bob and makes it current.
        await alice.SendLineAsync("/dm bob");
        await alice.WaitForStderrAsync(l => l.StartsWith("joined: dm-", StringComparison.Ordinal), "alice opens the direct room");
        var direct = alice.Stderr.Split('\n').Select(l => l.Trim()).Last(l => l.StartsWith("joined: dm-", StringComparison.Ordinal))["joined: ".Length..];
        await bob.JoinAsync(direct);
        await alice.SendLineAsync("psst, bob");
        Assert.Equal(direct, (await bob.WaitForAsync(m => m.Text == "psst, bob", "bob receives the direct message")).Room);

        // A private room: invite carol, list the members, kick her (her console is told), invite again, ban her.
        await using var carol = ConsoleProcess.Start(server.Address, "carol", register: true);
        await carol.WaitForStderrAsync(l => l == "joined: global", "carol joins global");
        await alice.SendLineAsync("/create crew private");
        await alice.WaitForStderrAsync(l => l == "created: crew", "alice creates a private room");
        await alice.SendLineAsync("/join crew");
        await alice.WaitForStderrAsync(l => l == "joined: crew", "alice joins crew");
        await carol.SendLineAsync("/join crew");
        await carol.WaitForStderrAsync(l => l.StartsWith("error: room_not_found:", StringComparison.Ordinal), "carol cannot see the private room");
        await alice.SendLineAsync("/invite carol");
        await alice.WaitForStderrAsync(l => l == "invited: carol crew", "alice invites carol");
        await alice.WaitForStderrAsync(l => l == "member: crew carol added member", "alice sees carol's member event");
        await alice.SendLineAsync("/members");
        await alice.WaitForStderrAsync(l => l == "members: alice(owner) carol(member)", "alice lists the members");
        await carol.SendLineAsync("/join crew");
        await carol.WaitForStderrAsync(l => l == "joined: crew", "carol joins crew");

        await alice.SendLineAsync("/kick carol");
        await alice.WaitForStderrAsync(l => l == "kicked: carol crew", "alice kicks carol");
        await carol.WaitForStderrAsync(l => l == "removed: crew removed", "carol's console is told she was removed");
        await alice.WaitForStderrAsync(l => l == "member: crew carol removed member", "alice sees carol's removal");

        await alice.SendLineAsync("/invite carol");
        await alice.WaitForStderrAsync(l => l == "invited: carol crew", "alice invites carol again", count: 2);
        await carol.SendLineAsync("/join crew");
        await carol.WaitForStderrAsync(l => l == "joined: crew", "carol joins crew again", count: 2);
        await alice.SendLineAsync("/ban carol being rude");
        await alice.WaitForStderrAsync(l => l == "banned: carol crew", "alice bans carol");
        await carol.WaitForStderrAsync(l => l == "removed: crew being rude", "carol's console is told she was banned, with the reason");
        await carol.SendLineAsync("/join crew");
        await carol.WaitForStderrAsync(l => l.StartsWith("error: room_not_found:", StringComparison.Ordinal), "a banned user cannot rejoin the private room", count: 2);

        await alice.SendLineAsync("/quit");
        await alice.ExpectExitAsync(0, "alice quits");
    }

    [Fact]
    public async Task Edit_react_reply_delete_search_and_unread_counts_work_from_the_console()
    {
        await using var server = ServerFixture.Start();
        await using var alice = ConsoleProcess.Start(server.Address, "alice", register: true);
        await alice.SendLineAsync("/create plans");
        await alice.WaitForStderrAsync(l => l == "created: plans", "alice creates a room");
        await alice.SendLineAsync("/join plans");
        await alice.WaitForStderrAsync(l => l == "joined: plans", "alice joins it");
        await using var bob = await server.ConnectUserAsync("bob", "plans");

        var first = await bob.SendAsync("plans", "lunch at noon?");
        await alice.SendLineAsync($"/react {first} 👍");
        await alice.WaitForStderrAsync(l => l == $"reacted: plans {first} 👍", "alice reacts");
        await alice.WaitForStderrAsync(l => l == $"updated: plans {first} reactions 👍 1", "alice's console shows the reaction event");
        await alice.SendLineAsync($"/reply {first} sounds good");
        var reply = await bob.WaitForAsync(m => m.Text == "sounds good", "bob receives the reply");
        Assert.NotNull(reply.ReplyTo);
        await alice.SendLineAsync($"/edit {reply.Seq} sounds great");
        await alice.WaitForStderrAsync(l => l == $"updated: plans {reply.Seq} edited sounds great", "the edit arrives as an update");
        await alice.SendLineAsync($"/edit {first} not mine");
        await alice.WaitForStderrAsync(l => l.StartsWith("error: forbidden:", StringComparison.Ordinal), "editing bob's message is refused");
        await alice.SendLineAsync("/search GREAT sounds");
        await alice.WaitForStderrAsync(l => l == $"found: plans {reply.Seq} alice: sounds great", "search finds the edited text");
        await alice.WaitForStderrAsync(l => l == "search: 1 found", "one result");
        await alice.SendLineAsync($"/delete {reply.Seq}");
        await alice.WaitForStderrAsync(l => l == $"updated: plans {reply.Seq} deleted ", "the delete arrives as an update");
        await alice.SendLineAsync("/delete 999");
        await alice.WaitForStderrAsync(l => l.StartsWith("error: message_not_found:", StringComparison.Ordinal), "an unknown number is reported");

        await bob.SendAsync("plans", "@alice still on?");
        await alice.SendLineAsync("/rooms");
        await alice.WaitForStderrAsync(l => l.StartsWith("rooms:", StringComparison.Ordinal) && l.Contains("plans(unread=2,mentions=1)", StringComparison.Ordinal), "the room list shows unread messages and mentions");
        await alice.SendLineAsync("/quit");
        await alice.ExpectExitAsync(1, "alice quits (two refused commands)");
    }

    [Fact]
    public async Task Errors_are_reported_as_code_and_message_on_stderr()
    {
        await using var server = ServerFixture.Start();
        await server.RegisterAsync("carol", "another-password");
        await using (var wrong = ConsoleProcess.Start(server.Address, "carol", register: false))
        {
            await wrong.ExpectExitAsync(1, "wrong password exits");
            Assert.Contains("invalid_credentials", wrong.Stderr, StringComparison.Ordinal);
        }

        await using var console = ConsoleProcess.Start(server.Address, "dave", register: true);
        await console.SendLineAsync(new string('x', 5000));
        await console.WaitForStderrAsync(l => l.StartsWith("error: payload_too_large:", StringComparison.Ordinal), "too long message refused");
        console.CloseInput();
        await console.ExpectExitAsync(1, "exit code reports the failed send");
    }

    [Fact]
    public async Task After_a_lost_connection_the_console_catches_up_exactly_once_and_delivers_its_pending_send()
    {
        await using var server = ServerFixture.Start();
        await using var proxy = new TcpProxy(server.Address);
        await using var bob = await server.ConnectUserAsync("bob");
        await using var console = ConsoleProcess.Start(proxy.Address, "alice", register: true);
        await console.WaitForStderrAsync(l => l == "joined: global", "console joins global");

        var first = await bob.SendAsync("global", "before the cut");
        Assert.Equal(first, (await console.NextMessageAsync("message before the cut")).GetProperty("seq").GetInt64());

        // Cut the network; wait until SignalR's automatic reconnect has given up and the client's own retry loop runs.
        proxy.Cut();
        await console.WaitForStderrAsync(l => l.StartsWith("connection: retrying", StringComparison.Ordinal), "automatic reconnect gives up");

        // Messages sent meanwhile by others, and a line the console user types while offline.
        var missed = new List<long>();
        for (var i = 1; i <= 3; i++)
        {
            missed.Add(await bob.SendAsync("global", $"while offline {i}"));
        }

        await console.SendLineAsync("typed while offline");
        proxy.Resume();
        await console.WaitForStderrAsync(l => l.StartsWith("connection: reconnected", StringComparison.Ordinal), "console reconnects");
        var fromConsole = await bob.WaitForAsync(m => m.Text == "typed while offline", "bob receives the offline line");

        var last = await bob.SendAsync("global", "after the reconnect");
        var seen = new List<long>();
        while (seen.Count == 0 || seen[^1] < last)
        {
            seen.Add((await console.NextMessageAsync("catch-up after the reconnect")).GetProperty("seq").GetInt64());
        }

        // Every seq after the first exactly once, in order, with no gap.
        Assert.Equal(Enumerable.Range((int)first + 1, (int)(last - first)).Select(i => (long)i), seen);
        Assert.Contains(fromConsole.Seq, seen);
        Assert.All(missed, s => Assert.Contains(s, seen));

        // The offline line was stored once although it was retried.
        var history = await bob.Hub.InvokeAsync<List<MessageDto>>("GetHistory", "global", null, null, 100).WaitAsync(ServerFixture.Timeout);
        Assert.Single(history, m => m.Text == "typed while offline");
        console.CloseInput();
        await console.ExpectExitAsync(0, "console exits");
    }
}
