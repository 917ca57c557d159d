using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace ChitChat.Web.Tests;

/// <summary>End-to-end tests of the browser UI: real Kestrel, real headless Chromium, two users.</summary>
public sealed class ChatUiTests(WebUiFixture fixture) : IClassFixture<WebUiFixture>
{
    private static string NewName(string prefix) => prefix + Guid.NewGuid().ToString("N")[..8];

    /// <summary>Creates a room over HTTP (as a helper user) so each test has its own history.</summary>
    private async Task<(string Room, string Token)> NewRoomAsync()
    {
        var room = NewName("room-");
        var token = await fixture.Api.RegisterAndLoginAsync(NewName("seed"), ChatPage.Password);
        await fixture.Api.CreateRoomAsync(token, room);
        return (room, token);
    }

    private static void AssertMatchesServer(
        IReadOnlyList<(long Seq, string Author, string Text, bool Own)> rendered,
        IReadOnlyList<ChitChat.Contracts.MessageDto> server,
        string phase)
    {
        Assert.True(
            rendered.Select(m => m.Seq).Distinct().Count() == rendered.Count,
            $"{phase}: duplicate seqs in the DOM: {string.Join(",", rendered.Select(m => m.Seq))}");
        Assert.Equal(
            server.Select(m => $"{m.Seq}|{m.AuthorName}|{m.Text}"),
            rendered.Select(m => $"{m.Seq}|{m.Author}|{m.Text}"));
        Assert.Equal(Enumerable.Range(1, server.Count).Select(i => (long)i), rendered.Select(m => m.Seq));
    }

    [Fact]
    public async Task Two_users_sign_up_chat_both_ways_and_see_history_after_reload()
    {
        var (room, _) = await NewRoomAsync();
        var aliceName = NewName("alice");
        var bobName = NewName("bob");
        await using var alice = await fixture.OpenAsync();
        await using var bob = await fixture.OpenAsync();

        await alice.SignUpAsync(aliceName, "Alice", "Liddell");
        await bob.SignUpAsync(bobName);
        await Expect(alice.Page.GetByTestId("current-user")).ToContainTextAsync(aliceName);
        await alice.OpenRoomAsync(room);
        await bob.OpenRoomAsync(room);

        // Presence: each sees the other online in the room.
        await Expect(alice.Page.GetByTestId("presence-user").And(alice.Page.Locator($"[data-user='{bobName}']"))).ToHaveCountAsync(1);
        await Expect(bob.Page.GetByTestId("presence-user").And(bob.Page.Locator($"[data-user='{aliceName}']"))).ToHaveCountAsync(1);

        // Typing indicator reaches the other user.
        await bob.Page.GetByTestId("composer-input").PressSequentiallyAsync("typ");
        await Expect(alice.Page.GetByTestId("typing-indicator")).ToContainTextAsync($"{bobName} is typing");
        await bob.Page.GetByTestId("composer-input").FillAsync(string.Empty);

        await alice.SendAndWaitAsync("Hi Bob, how are you?");
        await Expect(bob.MessageWithText("Hi Bob, how are you?")).ToHaveCountAsync(1);
        await bob.SendAndWaitAsync("Great, thanks Alice! Shipping the new release today.");
        await Expect(alice.MessageWithText("Great, thanks Alice! Shipping the new release today.")).ToHaveCountAsync(1);
        await alice.SendAndWaitAsync("Nice! Multi-line\nworks too");
        await Expect(bob.MessageWithText("Nice! Multi-line\nworks too")).ToHaveCountAsync(1);

        // Exactly once each, own messages marked, same order as the server.
        var token = await fixture.Api.LoginAsync(aliceName, ChatPage.Password);
        var server = await fixture.Api.HistoryAsync(token, room);
        Assert.Equal(3, server.Count);
        var aliceView = await alice.RenderedAsync();
        var bobView = await bob.RenderedAsync();
        AssertMatchesServer(aliceView, server, "alice");
        AssertMatchesServer(bobView, server, "bob");
        Assert.Equal([true, false, true], aliceView.Select(m => m.Own));
        Assert.Equal([false, true, false], bobView.Select(m => m.Own));
        await Expect(alice.Page.GetByTestId("pending-message")).ToHaveCountAsync(0);

        await alice.ScreenshotAsync("chat-desktop-alice");
        await bob.ScreenshotAsync("chat-desktop-bob");

        // Reload: still logged in (sessionStorage), same room, history from the server.
        await bob.Page.ReloadAsync();
        await bob.WaitOnlineAsync("after reload");
        await Expect(bob.Page.GetByTestId("room-title")).ToHaveTextAsync(room);
        await Expect(bob.Messages).ToHaveCountAsync(3);
        AssertMatchesServer(await bob.RenderedAsync(), server, "bob after reload");

        Assert.Empty(alice.PageErrors);
        Assert.Empty(bob.PageErrors);
    }

    [Fact]
    public async Task Reconnect_after_connection_loss_catches_up_with_no_duplicate_and_no_hole()
    {
        var (room, _) = await NewRoomAsync();
        var aliceName = NewName("alice");
        var bobName = NewName("bob");
        await using var alice = await fixture.OpenAsync();
        await using var bob = await fixture.OpenAsync();

        // Bob's hub traffic goes through a route the test can cut: close the WebSocket and refuse new connections.
        var cut = false;
        var sockets = new List<IWebSocketRoute>();
        await bob.Context.RouteAsync("**/hubs/chat/negotiate**", route => cut ? route.AbortAsync("internetdisconnected") : route.ContinueAsync());
        await bob.Context.RouteWebSocketAsync("**/hubs/chat**", ws =>
        {
            if (cut)
            {
                _ = ws.CloseAsync(new() { Code = 1011, Reason = "cut by test" });
                return;
            }

            ws.ConnectToServer();
            lock (sockets)
            {
                sockets.Add(ws);
            }
        });

        await alice.SignUpAsync(aliceName);
        await bob.SignUpAsync(bobName);
        await alice.OpenRoomAsync(room);
        await bob.OpenRoomAsync(room);
        await alice.SendAndWaitAsync("before the cut 1");
        await alice.SendAndWaitAsync("before the cut 2");
        await Expect(bob.Messages).ToHaveCountAsync(2);

        // Cut bob off.
        cut = true;
        IWebSocketRoute[] open;
        lock (sockets)
        {
            open = [.. sockets];
        }

        foreach (var ws in open)
        {
            await ws.CloseAsync(new() { Code = 1011, Reason = "cut by test" });
        }

        await Expect(bob.ConnectionState).Not.ToHaveAttributeAsync("data-state", "online");

        // While bob is away: alice sends several messages, bob writes one (kept as pending, sent on reconnect).
        for (var i = 1; i <= 5; i++)
        {
            await alice.SendAndWaitAsync($"while bob is away {i}");
        }

        await bob.SendAsync("bob wrote this offline");
        await Expect(bob.Page.GetByTestId("pending-message")).ToHaveCountAsync(1);
        await bob.ScreenshotAsync("reconnect-bob-offline");

        // Restore: bob reconnects by himself, re-joins with his last seq and catches up.
        cut = false;
        await bob.WaitOnlineAsync("after the connection is restored");
        await Expect(bob.Page.GetByTestId("pending-message")).ToHaveCountAsync(0);
        await Expect(bob.Messages).ToHaveCountAsync(8);
        await Expect(alice.MessageWithText("bob wrote this offline")).ToHaveCountAsync(1);

        // Live delivery still works after the reconnect.
        await alice.SendAndWaitAsync("after the reconnect");
        await Expect(bob.Messages).ToHaveCountAsync(9);

        var token = await fixture.Api.LoginAsync(aliceName, ChatPage.Password);
        var server = await fixture.Api.HistoryAsync(token, room);
        Assert.Equal(9, server.Count);
        AssertMatchesServer(await bob.RenderedAsync(), server, "bob after reconnect");
        AssertMatchesServer(await alice.RenderedAsync(), server, "alice");
        Assert.Single(server, m => m.Text == "bob wrote this offline");
        Assert.Empty(bob.PageErrors);
    }

    [Fact]
    public async Task Html_in_messages_is_shown_as_literal_text_and_creates_no_element()
    {
        var (room, _) = await NewRoomAsync();
        await using var alice = await fixture.OpenAsync();
        await using var bob = await fixture.OpenAsync();
        await alice.SignUpAsync(NewName("alice"));
        await bob.SignUpAsync(NewName("bob"));
        await alice.OpenRoomAsync(room);
        await bob.OpenRoomAsync(room);

        const string img = "<img src=x onerror=\"window.__xss=1\">";
        const string script = "<script>window.__xss=2</script><b>bold</b>";
        await alice.SendAndWaitAsync(img);
        await alice.SendAndWaitAsync(script);

        foreach (var page in new[] { alice, bob })
        {
            await Expect(page.MessageWithText(img)).ToHaveCountAsync(1);
            await Expect(page.MessageWithText(script)).ToHaveCountAsync(1);
            var list = page.Page.GetByTestId("message-list");
            Assert.Equal(0, await list.Locator("img, script, b").CountAsync());
            Assert.True(await page.Page.EvaluateAsync<bool>("() => window.__xss === undefined"), "injected script ran");
            Assert.Empty(page.PageErrors);
        }
    }

    [Fact]
    public async Task Too_long_message_shows_a_friendly_error_and_is_not_sent()
    {
        await using var alice = await fixture.OpenAsync();
        await alice.SignUpAsync(NewName("alice"));
        var input = alice.Page.GetByTestId("composer-input");

        await input.FillAsync(new string('x', 4000));
        await Expect(alice.Page.GetByTestId("char-counter")).ToHaveTextAsync("4000 / 4000");
        await Expect(alice.Page.GetByTestId("send")).ToBeEnabledAsync();

        await input.FillAsync(new string('x', 4001));
        await Expect(alice.Page.GetByTestId("char-counter")).ToHaveTextAsync("4001 / 4000");
        await Expect(alice.Page.GetByTestId("char-counter")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("over"));
        await Expect(alice.Page.GetByTestId("composer-error")).ToContainTextAsync("too long");
        await Expect(alice.Page.GetByTestId("send")).ToBeDisabledAsync();
        await input.PressAsync("Enter");
        await Expect(alice.Page.GetByTestId("pending-message")).ToHaveCountAsync(0);
        await alice.ScreenshotAsync("too-long");
    }

    [Fact]
    public async Task Wrong_password_shows_a_friendly_error_then_login_and_logout_work()
    {
        var userName = NewName("carol");
        await fixture.Api.RegisterAndLoginAsync(userName, ChatPage.Password);
        await using var carol = await fixture.OpenAsync();

        await carol.LogInAsync(userName, "not-the-password");
        await Expect(carol.Page.GetByTestId("login-error")).ToHaveTextAsync("Wrong user name or password.");

        await carol.LogInAsync(userName);
        await carol.WaitOnlineAsync("after login");
        await Expect(carol.Page.GetByTestId("room-item").And(carol.Page.Locator("[data-room='global']"))).ToHaveCountAsync(1);

        await carol.Page.GetByTestId("logout").ClickAsync();
        await Expect(carol.Page.GetByTestId("auth-view")).ToBeVisibleAsync();
        Assert.Null(await carol.Page.EvaluateAsync<string?>("() => sessionStorage.getItem('chitchat.session')"));
        Assert.Empty(carol.PageErrors);
    }

    [Fact]
    public async Task Create_room_from_the_sidebar_and_duplicate_name_shows_friendly_error()
    {
        var room = NewName("team-");
        await using var alice = await fixture.OpenAsync();
        await alice.SignUpAsync(NewName("alice"));

        await alice.Page.GetByTestId("new-room-name").FillAsync(room);
        await alice.Page.GetByTestId("new-room-submit").ClickAsync();
        await Expect(alice.Page.GetByTestId("room-title")).ToHaveTextAsync(room);
        await Expect(alice.Page.GetByTestId("room-item").And(alice.Page.Locator($"[data-room='{room}']"))).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("active"));

        await alice.Page.GetByTestId("new-room-name").FillAsync(room);
        await alice.Page.GetByTestId("new-room-submit").ClickAsync();
        await Expect(alice.Page.GetByTestId("new-room-error")).ToHaveTextAsync("A room with that name already exists.");
    }

    [Fact]
    public async Task Scrolling_to_the_top_loads_older_history_without_holes()
    {
        var (room, token) = await NewRoomAsync();
        for (var i = 1; i <= 120; i++)
        {
            await fixture.Api.PostMessageAsync(token, room, $"history {i}");
        }

        await using var alice = await fixture.OpenAsync();
        await alice.SignUpAsync(NewName("alice"));
        await alice.OpenRoomAsync(room);

        // The latest page first, then older pages each time the list is scrolled to the top.
        await Expect(alice.MessageWithText("history 120")).ToHaveCountAsync(1);
        var messages = alice.Page.GetByTestId("messages");
        var start = DateTime.UtcNow;
        while (await alice.Messages.CountAsync() < 120)
        {
            Assert.True(DateTime.UtcNow - start < TimeSpan.FromSeconds(60), $"older pages did not load: {await alice.Messages.CountAsync()} of 120");
            var before = await alice.Messages.CountAsync();
            await messages.EvaluateAsync("m => { m.scrollTop = 0; m.dispatchEvent(new Event('scroll')); }");
            await Expect(alice.Messages).Not.ToHaveCountAsync(before);
        }

        await Expect(alice.Page.GetByTestId("history-status")).ToContainTextAsync("beginning");
        var server = await fixture.Api.HistoryAsync(token, room);
        AssertMatchesServer(await alice.RenderedAsync(), server, "after scrolling back");
        Assert.Empty(alice.PageErrors);
    }

    [Fact]
    public async Task Phone_layout_hides_the_sidebar_behind_a_toggle()
    {
        var (room, token) = await NewRoomAsync();
        await using var alice = await fixture.OpenAsync(390, 844);
        await using var bob = await fixture.OpenAsync(390, 844);
        var aliceName = NewName("alice");
        await alice.SignUpAsync(aliceName);
        await bob.SignUpAsync(NewName("bob"));

        var sidebar = alice.Page.GetByTestId("sidebar");
        await Expect(sidebar).Not.ToBeInViewportAsync();
        await Expect(alice.Page.GetByTestId("sidebar-toggle")).ToBeVisibleAsync();
        await alice.Page.GetByTestId("sidebar-toggle").ClickAsync();
        await Expect(sidebar).ToBeInViewportAsync();
        await alice.Page.GetByTestId("sidebar-toggle").PressAsync("Escape");
        await Expect(sidebar).Not.ToBeInViewportAsync();

        await alice.OpenRoomAsync(room); // through the toggle
        await Expect(sidebar).Not.ToBeInViewportAsync();
        await bob.OpenRoomAsync(room);
        await bob.SendAndWaitAsync("Hello from my phone");
        await alice.SendAndWaitAsync("Looks great on a small screen!");
        await Expect(bob.MessageWithText("Looks great on a small screen!")).ToHaveCountAsync(1);
        await alice.ScreenshotAsync("chat-mobile");
        _ = token;
    }
}

/// <summary>Rate limiting with a server that allows 2 messages per 10 minutes.</summary>
public sealed class RateLimitUiTests(RateLimitedWebUiFixture fixture) : IClassFixture<RateLimitedWebUiFixture>
{
    [Fact]
    public async Task Rate_limited_send_shows_a_friendly_error_and_keeps_the_message_for_retry()
    {
        await using var alice = await fixture.OpenAsync();
        await alice.SignUpAsync("alice" + Guid.NewGuid().ToString("N")[..8]);

        await alice.SendAndWaitAsync("one");
        await alice.SendAndWaitAsync("two");
        await alice.SendAsync("three");

        await Expect(alice.Page.GetByTestId("composer-error")).ToContainTextAsync("too fast");
        var failed = alice.Page.GetByTestId("pending-message");
        await Expect(failed).ToHaveAttributeAsync("data-status", "failed");
        await Expect(failed.GetByTestId("message-text")).ToHaveTextAsync("three");
        await Expect(failed.GetByTestId("pending-retry")).ToBeVisibleAsync();
        await Expect(alice.Messages).ToHaveCountAsync(2);
        await alice.ScreenshotAsync("rate-limited");
        Assert.Empty(alice.PageErrors);
    }
}
