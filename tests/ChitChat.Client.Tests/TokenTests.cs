using ChitChat.Client.Tests.Infrastructure;
using ChitChat.Testing;

namespace ChitChat.Client.Tests;

/// <summary>The access token callback is asked again at every reconnect and after a 401, and no event is lost meanwhile.</summary>
public sealed class TokenTests
{
    [Fact]
    public async Task A_refused_token_is_refreshed_at_connect_and_at_reconnect_and_events_continue_without_loss()
    {
        await using var server = await ServerHost.StartAsync();
        await using var proxy = new TcpProxy(server.Address);
        await using var bob = await server.ConnectAsync("bob");
        var room = await ServerHost.NewRoomAsync(bob);
        var alice = await server.RegisterAsync("alice");
        await using var login = new ChitChatClient(new ChitChatClientOptions { Server = server.Address });

        var calls = 0;
        var invalidHandedOut = 0;
        var nextIsInvalid = 1; // the first token is "expired"
        async ValueTask<string> Token(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref calls);
            if (Interlocked.Exchange(ref nextIsInvalid, 0) == 1)
            {
                Interlocked.Increment(ref invalidHandedOut);
                return "expired-or-garbage";
            }

            return (await login.LoginAsync(alice, ServerHost.Password, cancellationToken)).AccessToken;
        }

        var options = ServerHost.Options(proxy.Address, alice);
        options.UserName = null;
        options.Password = null;
        options.AccessTokenProvider = Token;
        await using var client = new ChitChatClient(options);
        var states = new StateRecorder(client);
        await Wait.For(client.ConnectAsync(), "connect refreshes the refused token");
        Assert.Equal(1, invalidHandedOut);
        var afterConnect = Volatile.Read(ref calls);
        Assert.True(afterConnect >= 2, $"the callback was called {afterConnect} times");

        var subscription = await Wait.For(client.JoinRoomAsync(room, afterSeq: 0), "alice joins");
        var events = new EventCollector(subscription);
        var first = await Wait.For(bob.SendAsync(room, "before"), "bob sends");
        await events.WaitForSeqAsync(first.Seq, "alice receives");

        // Cut; while offline the token "expires": the first reconnect attempt is refused with 401, the next gets a fresh token.
        proxy.Cut();
        await states.WaitForAsync(s => s.State == ChitChatConnectionState.Reconnecting, "alice notices the cut");
        Volatile.Write(ref nextIsInvalid, 1);
        var missed = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            missed.Add((await Wait.For(bob.SendAsync(room, $"while cut {i}"), "bob sends while alice is offline")).Seq);
        }

        proxy.Resume();
        await states.WaitForAsync(s => s.IsReconnect, "alice reconnects with a refreshed token");
        Assert.Equal(2, invalidHandedOut);
        Assert.True(Volatile.Read(ref calls) >= afterConnect + 2, "the callback was asked again at the reconnect");
        var last = await Wait.For(bob.SendAsync(room, "after"), "bob sends after the reconnect");
        await events.WaitForSeqAsync(last.Seq, "alice receives everything");
        Assert.Equal([first.Seq, .. missed, last.Seq], events.Seqs);

        // HTTP calls use the current token too.
        Assert.Contains(await Wait.For(client.GetRoomsAsync(), "rooms"), r => r.Name == room);
    }

    [Fact]
    public async Task After_a_server_restart_with_a_new_signing_key_a_client_with_credentials_logs_in_again_and_loses_nothing()
    {
        var database = Path.Combine(Path.GetTempPath(), $"chitchat-client-{Guid.NewGuid():N}.db");
        Dictionary<string, string?> Settings(string key) => new()
        {
            ["ChitChat:Store"] = "Sqlite",
            ["ChitChat:Sqlite:ConnectionString"] = $"Data Source={database}",
            ["ChitChat:Auth:SigningKey"] = key,
        };

        try
        {
            var first = await ServerHost.StartAsync(Settings("first-signing-key-0123456789-abcdefghijklmnop"));
            await using var proxy = new TcpProxy(first.Address);
            string room;
            long before;
            await using var alice = await first.ConnectAsync("alice", via: proxy.Address);
            var states = new StateRecorder(alice);
            await using (var bob = await first.ConnectAsync("bob"))
            {
                room = await ServerHost.NewRoomAsync(bob);
                before = (await Wait.For(bob.SendAsync(room, "before the restart"), "bob sends")).Seq;
            }

            var subscription = await Wait.For(alice.JoinRoomAsync(room, afterSeq: 0), "alice joins");
            var events = new EventCollector(subscription);
            await events.WaitForSeqAsync(before, "alice receives the first message");

            // The server restarts with a rotated key: alice's token is refused from now on.
            proxy.Cut();
            await states.WaitForAsync(s => s.State == ChitChatConnectionState.Reconnecting, "alice notices the cut");
            await first.DisposeAsync();
            await using var second = await ServerHost.StartAsync(Settings("second-signing-key-0123456789-abcdefghijklmnop"));
            proxy.Upstream = second.Address;
            var offline = alice.SendAsync(room, "sent while the server restarts");
            proxy.Resume();
            await states.WaitForAsync(s => s.IsReconnect, "alice logs in again and reconnects");
            var ack = await Wait.For(offline, "the offline message is acknowledged");

            await using var carol = await second.ConnectAsync("carol");
            var after = await Wait.For(carol.SendAsync(room, "after the restart"), "carol sends");
            await events.WaitForSeqAsync(after.Seq, "alice receives everything");
            var history = await Wait.HistoryAsync(carol, room);
            Assert.Equal(["before the restart", "sent while the server restarts", "after the restart"], history.Select(m => m.Text));
            Assert.Equal(history.Select(m => m.Seq), events.Seqs);
            Assert.Equal(history[1].Seq, ack.Seq);
            Assert.Contains(states.Changes, s => s.State == ChitChatConnectionState.Retrying); // the refused token outlived SignalR's reconnect
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var file in Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(database) + "*"))
            {
                File.Delete(file);
            }
        }
    }

    [Fact]
    public async Task A_client_with_credentials_logs_in_by_itself_and_reports_the_user()
    {
        await using var server = await ServerHost.StartAsync();
        var name = await server.RegisterAsync("carol");
        await using var client = new ChitChatClient(ServerHost.Options(server.Address, name));
        Assert.Null(client.User);
        await Wait.For(client.ConnectAsync(), "connect logs in");
        Assert.Equal(name, client.User?.UserName);
        Assert.Equal(ChitChatConnectionState.Connected, client.State);
        var limits = await Wait.For(client.GetLimitsAsync(), "limits");
        Assert.True(limits.MaxMessageLength > 0);
        var presence = await Wait.For(client.GetPresenceAsync("global"), "presence");
        Assert.NotNull(presence);
    }
}
