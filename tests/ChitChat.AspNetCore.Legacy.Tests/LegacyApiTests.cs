// Every await here is bounded by its own WaitAsync/Timeout; the test cancellation token adds nothing.
#pragma warning disable xUnit1051

using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;

using ChitChat.Accounts;

namespace ChitChat.AspNetCore.Legacy.Tests;

public sealed class LegacyApiTests
{
    private static StringContent Json(string raw) => new(raw, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Register_creates_an_account_and_rejects_duplicates_and_bad_input()
    {
        await using var host = await LegacyHost.StartAsync();

        using var created = await host.Http.PostAsJsonAsync("/register/", new { firstName = "Ada", lastName = "Lovelace", userName = "ada", password = "password-123" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("Account Created", (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());

        var user = await host.Store.Users.FindByNameAsync("ada");
        Assert.NotNull(user);
        Assert.Equal("Ada", user.FirstName);
        Assert.DoesNotContain("password-123", user.PasswordHash, StringComparison.Ordinal);

        using var duplicate = await host.Http.PostAsJsonAsync("/register/", new { firstName = "A", lastName = "B", userName = "ADA", password = "password-456" });
        Assert.Equal(HttpStatusCode.BadRequest, duplicate.StatusCode);
        Assert.Equal("User already exists", (await duplicate.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());

        using var invalid = await host.Http.PostAsJsonAsync("/register/", new { firstName = "A", lastName = "B", userName = "bob", password = "short" });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var errors = (await invalid.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("password", out _));
        Assert.Null(await host.Store.Users.FindByNameAsync("bob"));

        using var badJson = await host.Http.PostAsync("/register/", Json("{\"userName\": \"carol\", "));
        Assert.Equal(HttpStatusCode.BadRequest, badJson.StatusCode);
        Assert.Null(await host.Store.Users.FindByNameAsync("carol"));
    }

    [Fact]
    public async Task Login_answers_the_legacy_shape_and_401_for_wrong_credentials()
    {
        await using var host = await LegacyHost.StartAsync();
        var (id, userName) = await host.RegisterAsync("grace");

        using var ok = await host.Http.PostAsJsonAsync("/login/", new { userName = "GRACE", password = "password-123" });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var body = await ok.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("grace", body.GetProperty("username").GetString());
        Assert.Equal(id, body.GetProperty("id").GetString());
        Assert.Equal("global", body.GetProperty("chatroom").GetString());
        Assert.Equal("grace", userName);

        using var wrong = await host.Http.PostAsJsonAsync("/login/", new { userName = "grace", password = "wrong-password" });
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        using var unknown = await host.Http.PostAsJsonAsync("/login/", new { userName = "nobody", password = "password-123" });
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        using var badJson = await host.Http.PostAsync("/login/", Json("not json"));
        Assert.Equal(HttpStatusCode.BadRequest, badJson.StatusCode);
    }

    [Fact]
    public async Task Created_messages_are_listed_oldest_first_and_bad_creates_change_nothing()
    {
        await using var host = await LegacyHost.StartAsync();
        var (id, userName) = await host.RegisterAsync("alice");
        var (otherId, _) = await host.RegisterAsync("mallory");

        foreach (var text in new[] { "first", "second", "third" })
        {
            using var response = await host.Http.PostAsJsonAsync("/message/create", new { userId = id, userName, chatroomId = 1, message = text });
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.Equal("Message Saved", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
        }

        // Bad input: unknown user, a name that does not match the id, unknown room, empty text, bad JSON.
        var bad = new object[]
        {
            new { userId = Guid.NewGuid().ToString(), userName, chatroomId = 1, message = "x" },
            new { userId = "not-a-guid", userName, chatroomId = 1, message = "x" },
            new { userId = otherId, userName, chatroomId = 1, message = "impersonation" },
            new { userId = id, userName, chatroomId = 99, message = "x" },
            new { userId = id, userName, chatroomId = 1, message = "   " },
        };
        foreach (var body in bad)
        {
            using var response = await host.Http.PostAsJsonAsync("/message/create", body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        using (var badJson = await host.Http.PostAsync("/message/create", Json("[1,2")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, badJson.StatusCode);
        }

        using var list = await host.Http.PostAsJsonAsync("/message/all/", new { chatroomId = 1 });
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var messages = (await list.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().ToList();
        Assert.Equal(["first", "second", "third"], messages.Select(m => m.GetProperty("message").GetString()));
        Assert.All(messages, m =>
        {
            Assert.Equal(id, m.GetProperty("userId").GetString());
            Assert.Equal("alice", m.GetProperty("userName").GetString());
            Assert.Equal(1, m.GetProperty("chatroomId").GetInt32());
            Assert.True(DateTimeOffset.TryParse(m.GetProperty("date").GetString(), out _));
        });

        // Stored once each, through the message sender, marked by their origin (not by an idempotency key: ChitChat 1 sends none).
        var stored = await host.HistoryAsync("global");
        Assert.Equal([1L, 2L, 3L], stored.Select(m => m.Seq));
        Assert.All(stored, m =>
        {
            Assert.Equal(MessageOrigins.Legacy, m.Origin);
            Assert.Null(m.ClientMessageId);
        });

        // A numeric string is accepted; unknown or malformed ids are 400.
        using var asString = await host.Http.PostAsJsonAsync("/message/all/", new { chatroomId = "1" });
        Assert.Equal(3, (await asString.Content.ReadFromJsonAsync<JsonElement>()).GetArrayLength());
        using var unknownRoom = await host.Http.PostAsJsonAsync("/message/all/", new { chatroomId = 42 });
        Assert.Equal(HttpStatusCode.BadRequest, unknownRoom.StatusCode);
        using var malformed = await host.Http.PostAsJsonAsync("/message/all/", new { chatroomId = "global" });
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        using var missing = await host.Http.PostAsync("/message/all/", Json("{}"));
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
    }

    [Fact]
    public async Task Room_aliases_follow_creation_order_not_name_order()
    {
        await using var host = await LegacyHost.StartAsync();
        var (id, userName) = await host.RegisterAsync("alice");
        var creator = new ChatIdentity(Guid.Parse(id), userName);
        await host.Rooms.CreateAsync(RoomName.Parse("zeta"), creator);
        await host.Rooms.CreateAsync(RoomName.Parse("alpha"), creator);

        using (var toZeta = await host.Http.PostAsJsonAsync("/message/create", new { userId = id, userName, chatroomId = 2, message = "in zeta" }))
        {
            Assert.Equal(HttpStatusCode.Created, toZeta.StatusCode);
        }

        using (var toAlpha = await host.Http.PostAsJsonAsync("/message/create", new { userId = id, userName, chatroomId = 3, message = "in alpha" }))
        {
            Assert.Equal(HttpStatusCode.Created, toAlpha.StatusCode);
        }

        Assert.Equal("in zeta", Assert.Single(await host.HistoryAsync("zeta")).Text);
        Assert.Equal("in alpha", Assert.Single(await host.HistoryAsync("alpha")).Text);
        using var list = await host.Http.PostAsJsonAsync("/message/all/", new { chatroomId = 3 });
        var only = Assert.Single((await list.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray());
        Assert.Equal(3, only.GetProperty("chatroomId").GetInt32());
    }

    [Fact]
    public async Task WebSocket_frames_reach_every_legacy_client_and_are_never_stored()
    {
        await using var host = await LegacyHost.StartAsync();
        await using var native = await host.ListenAsync("global");
        using var first = await host.ConnectAsync("global");
        using var second = await host.ConnectAsync("global");

        await LegacyHost.SendJsonAsync(first, new { username = "old-client", text = "hello legacy", timestamp = "2020-01-01T00:00:00Z", extra = "dropped" });
        foreach (var socket in new[] { first, second })
        {
            var frame = await LegacyHost.ReceiveJsonAsync(socket, "legacy broadcast");
            Assert.Equal("old-client", frame.GetProperty("username").GetString());
            Assert.Equal("hello legacy", frame.GetProperty("text").GetString());
            Assert.Equal("2020-01-01T00:00:00Z", frame.GetProperty("timestamp").GetString());
            Assert.False(frame.TryGetProperty("extra", out _));
        }

        // Broadcast only: nothing stored, nothing published to native clients.
        Assert.Empty(await host.HistoryAsync("global"));
        Assert.False(native.TryNext(out _));
    }

    [Fact]
    public async Task Native_and_legacy_clients_exchange_messages_exactly_once()
    {
        await using var host = await LegacyHost.StartAsync();
        var (id, userName) = await host.RegisterAsync("legacy-user");
        var nativeUser = await host.Accounts.RegisterAsync(new RegisterRequest("native-user", "password-123"));
        await using var native = await host.ListenAsync("global");
        using var socket = await host.ConnectAsync("global");

        // Native -> legacy: a message sent through the message sender (as the hub does) arrives as {username, text, timestamp}.
        var sent = await host.SendAsync(new ChatIdentity(nativeUser.Id, nativeUser.UserName), "global", "from native", "c-1");
        var frame = await LegacyHost.ReceiveJsonAsync(socket, "native to legacy");
        Assert.Equal("native-user", frame.GetProperty("username").GetString());
        Assert.Equal("from native", frame.GetProperty("text").GetString());
        Assert.Equal(sent.Message.SentAt.ToUnixTimeMilliseconds(), DateTimeOffset.Parse(frame.GetProperty("timestamp").GetString()!, System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds());
        Assert.Equal("from native", (await native.NextAsync("native echo")).Text);

        // Legacy create -> native: exactly one native message, authored by the verified user.
        using (var create = await host.Http.PostAsJsonAsync("/message/create", new { userId = id, userName, chatroomId = 1, message = "from legacy" }))
        {
            Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        }

        var posted = await native.NextAsync("legacy create to native");
        Assert.Equal("from legacy", posted.Text);
        Assert.Equal(Guid.Parse(id), posted.AuthorId);
        Assert.Equal(2, posted.Seq);

        // ... and the legacy socket does not get it again (its sender broadcast it over WS already): the next frame it
        // receives is the next native message, not the legacy one.
        await host.SendAsync(new ChatIdentity(nativeUser.Id, nativeUser.UserName), "global", "after", "c-2");
        var next = await LegacyHost.ReceiveJsonAsync(socket, "next native message");
        Assert.Equal("after", next.GetProperty("text").GetString());
        Assert.Equal("after", (await native.NextAsync("second native")).Text);
        Assert.False(native.TryNext(out _));
    }

    [Fact]
    public async Task A_SignalR_client_and_a_legacy_WebSocket_exchange_messages_both_ways_exactly_once()
    {
        await using var host = await LegacyHost.StartAsync();
        var (id, userName) = await host.RegisterAsync("old-timer");
        await host.RegisterAsync("modern");
        var (hub, messages) = await host.ConnectNativeAsync("modern");
        await using var _ = hub;
        using var socket = await host.ConnectAsync("global");

        // Native (SignalR) -> legacy WebSocket frame.
        var ack = await hub.InvokeAsync<JsonElement>("SendMessage", "global", "hello from SignalR", "n-1").WaitAsync(LegacyHost.Timeout);
        var frame = await LegacyHost.ReceiveJsonAsync(socket, "SignalR to legacy");
        Assert.Equal("modern", frame.GetProperty("username").GetString());
        Assert.Equal("hello from SignalR", frame.GetProperty("text").GetString());
        var echo = await messages.Reader.ReadAsync().AsTask().WaitAsync(LegacyHost.Timeout);
        Assert.Equal(ack.GetProperty("seq").GetInt64(), echo.GetProperty("seq").GetInt64());

        // Legacy create -> the native `message` event, once, authored by the verified user.
        using (var create = await host.Http.PostAsJsonAsync("/message/create", new { userId = id, userName, chatroomId = 1, message = "hello from ChitChat 1" }))
        {
            Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        }

        var posted = await messages.Reader.ReadAsync().AsTask().WaitAsync(LegacyHost.Timeout);
        Assert.Equal("hello from ChitChat 1", posted.GetProperty("text").GetString());
        Assert.Equal("old-timer", posted.GetProperty("authorName").GetString());
        Assert.Equal(id, posted.GetProperty("authorId").GetString());

        // The legacy peer does not get the created message again: its next frame is the next native message.
        await hub.InvokeAsync<JsonElement>("SendMessage", "global", "second from SignalR", "n-2").WaitAsync(LegacyHost.Timeout);
        Assert.Equal("second from SignalR", (await LegacyHost.ReceiveJsonAsync(socket, "next native frame")).GetProperty("text").GetString());
        Assert.Equal("second from SignalR", (await messages.Reader.ReadAsync().AsTask().WaitAsync(LegacyHost.Timeout)).GetProperty("text").GetString());

        // A legacy WebSocket frame is broadcast to legacy clients only: the native client receives nothing for it.
        await LegacyHost.SendJsonAsync(socket, new { username = "old-timer", text = "ws only", timestamp = "t" });
        Assert.Equal("ws only", (await LegacyHost.ReceiveJsonAsync(socket, "legacy echo")).GetProperty("text").GetString());
        await hub.InvokeAsync<JsonElement>("SendMessage", "global", "third from SignalR", "n-3").WaitAsync(LegacyHost.Timeout);
        Assert.Equal("third from SignalR", (await messages.Reader.ReadAsync().AsTask().WaitAsync(LegacyHost.Timeout)).GetProperty("text").GetString());
        Assert.Equal(4, (await host.HistoryAsync("global")).Count);
    }

    [Fact]
    public async Task A_failing_legacy_client_does_not_affect_the_others()
    {
        await using var host = await LegacyHost.StartAsync(settings: [new("ChitChat:Legacy:MaxFrameBytes", "1024")]);
        using var bad = await host.ConnectAsync("global");
        using var good = await host.ConnectAsync("global");
        using var aborted = await host.ConnectAsync("global");
        aborted.Abort();

        // Invalid JSON and missing fields are dropped without closing the socket.
        await bad.SendAsync(Encoding.UTF8.GetBytes("{not json"), WebSocketMessageType.Text, true, CancellationToken.None).WaitAsync(LegacyHost.Timeout);
        await LegacyHost.SendJsonAsync(bad, new { username = "x" });

        // An oversized frame closes that socket with 1009.
        await LegacyHost.SendJsonAsync(bad, new { username = "big", text = new string('a', 4000), timestamp = 1 });
        var closed = await bad.ReceiveAsync(new byte[1024], CancellationToken.None).WaitAsync(LegacyHost.Timeout);
        Assert.Equal(WebSocketMessageType.Close, closed.MessageType);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, bad.CloseStatus);

        // The other client still sends and receives.
        await LegacyHost.SendJsonAsync(good, new { username = "good", text = "still here", timestamp = 2 });
        var frame = await LegacyHost.ReceiveJsonAsync(good, "good client after neighbours failed");
        Assert.Equal("still here", frame.GetProperty("text").GetString());
        Assert.Equal(2, frame.GetProperty("timestamp").GetInt32());
    }

    [Fact]
    public async Task The_legacy_api_sees_public_rooms_only()
    {
        await using var host = await LegacyHost.StartAsync();
        var (id, userName) = await host.RegisterAsync("alice");
        var creator = new ChatIdentity(Guid.Parse(id), userName);
        await host.Rooms.CreateAsync(RoomName.Parse("hidden"), creator, RoomKind.Private);
        await host.Rooms.CreateAsync(RoomName.Parse("open"), creator);

        // The private room gets no alias: the public one created after it is 2, and 3 does not exist.
        using (var toOpen = await host.Http.PostAsJsonAsync("/message/create", new { userId = id, userName, chatroomId = 2, message = "in open" }))
        {
            Assert.Equal(HttpStatusCode.Created, toOpen.StatusCode);
        }

        using (var toNothing = await host.Http.PostAsJsonAsync("/message/create", new { userId = id, userName, chatroomId = 3, message = "where?" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, toNothing.StatusCode);
        }

        Assert.Equal("in open", Assert.Single(await host.HistoryAsync("open")).Text);
        Assert.Empty(await host.HistoryAsync("hidden"));

        // Its WebSocket answers like a room that does not exist.
        using var socket = new ClientWebSocket();
        var ex = await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(host.WebSocketUri("hidden"), CancellationToken.None).WaitAsync(LegacyHost.Timeout));
        Assert.Contains("404", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WebSocket_rejects_unknown_rooms_and_disallowed_origins()
    {
        await using var host = await LegacyHost.StartAsync();
        using var unknown = new ClientWebSocket();
        var ex = await Assert.ThrowsAsync<WebSocketException>(() => unknown.ConnectAsync(host.WebSocketUri("no-such-room"), CancellationToken.None).WaitAsync(LegacyHost.Timeout));
        Assert.Contains("404", ex.Message, StringComparison.Ordinal);

        using var foreign = new ClientWebSocket();
        foreign.Options.SetRequestHeader("Origin", "https://evil.example.com");
        ex = await Assert.ThrowsAsync<WebSocketException>(() => foreign.ConnectAsync(host.WebSocketUri("global"), CancellationToken.None).WaitAsync(LegacyHost.Timeout));
        Assert.Contains("403", ex.Message, StringComparison.Ordinal);

        using var allowed = await host.ConnectAsync("global", "https://old.example.com");
        Assert.Equal(WebSocketState.Open, allowed.State);
    }

    [Fact]
    public async Task Cors_preflight_is_allowed_for_configured_origins_only()
    {
        await using var host = await LegacyHost.StartAsync();
        foreach (var path in new[] { "/register/", "/login/", "/message/all/", "/message/create" })
        {
            using var allowed = new HttpRequestMessage(HttpMethod.Options, path);
            allowed.Headers.Add("Origin", "https://old.example.com");
            allowed.Headers.Add("Access-Control-Request-Method", "POST");
            allowed.Headers.Add("Access-Control-Request-Headers", "content-type");
            using var allowedResponse = await host.Http.SendAsync(allowed);
            Assert.True(allowedResponse.IsSuccessStatusCode, path);
            Assert.Equal("https://old.example.com", Assert.Single(allowedResponse.Headers.GetValues("Access-Control-Allow-Origin")));
            Assert.Contains("POST", allowedResponse.Headers.GetValues("Access-Control-Allow-Methods").Single(), StringComparison.Ordinal);

            using var denied = new HttpRequestMessage(HttpMethod.Options, path);
            denied.Headers.Add("Origin", "https://evil.example.com");
            denied.Headers.Add("Access-Control-Request-Method", "POST");
            using var deniedResponse = await host.Http.SendAsync(denied);
            Assert.False(deniedResponse.Headers.Contains("Access-Control-Allow-Origin"), path);
        }

        // Actual requests carry the header for the allowed origin only.
        using var post = new HttpRequestMessage(HttpMethod.Post, "/message/all/") { Content = JsonContent.Create(new { chatroomId = 1 }) };
        post.Headers.Add("Origin", "https://old.example.com");
        using var postResponse = await host.Http.SendAsync(post);
        Assert.Equal(HttpStatusCode.OK, postResponse.StatusCode);
        Assert.Equal("https://old.example.com", Assert.Single(postResponse.Headers.GetValues("Access-Control-Allow-Origin")));
    }

    [Fact]
    public async Task Disabled_by_default_every_legacy_route_is_404()
    {
        await using var host = await LegacyHost.StartAsync(enabled: false);
        foreach (var path in new[] { "/register/", "/login/", "/message/all/", "/message/create" })
        {
            using var response = await host.Http.PostAsJsonAsync(path, new { chatroomId = 1 });
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        using var socket = new ClientWebSocket();
        var ex = await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(host.WebSocketUri("global"), CancellationToken.None).WaitAsync(LegacyHost.Timeout));
        Assert.Contains("404", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Enabled_defaults_to_false()
    {
        Assert.False(new LegacyApiOptions().Enabled);
    }

    [Fact]
    public async Task Register_and_login_are_rate_limited_per_client_address()
    {
        await using var host = await LegacyHost.StartAsync(settings: [new("ChitChat:Legacy:AuthRateLimit", "2"), new("ChitChat:Legacy:AuthRateWindow", "01:00:00")]);
        using var a = await host.Http.PostAsJsonAsync("/login/", new { userName = "x", password = "password-123" });
        using var b = await host.Http.PostAsJsonAsync("/login/", new { userName = "x", password = "password-123" });
        using var c = await host.Http.PostAsJsonAsync("/register/", new { userName = "newbie", password = "password-123" });
        Assert.Equal(HttpStatusCode.Unauthorized, a.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, b.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, c.StatusCode);
        Assert.True(c.Headers.Contains("Retry-After"));
        Assert.Null(await host.Store.Users.FindByNameAsync("newbie"));
    }

    [Fact]
    public async Task Invalid_allowed_origin_fails_at_start_up()
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => LegacyHost.StartAsync(settings: [new("ChitChat:Legacy:AllowedOrigins:1", "https://bad.example.com/path")]));
        Assert.Contains("AllowedOrigins", ex.ToString(), StringComparison.Ordinal);
    }
}
