using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace ChitChat.Web.Tests;

/// <summary>Private rooms, direct messages, member lists and moderation in the browser UI (real Kestrel, real Chromium).</summary>
public sealed class ConversationUiTests(WebUiFixture fixture) : IClassFixture<WebUiFixture>
{
    private static string NewName(string prefix) => prefix + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task A_private_room_is_created_bob_is_invited_from_suggestions_they_chat_and_carol_does_not_see_it()
    {
        var aliceName = NewName("alice");
        var bobName = NewName("bob");
        var room = NewName("secret-");
        await using var alice = await fixture.OpenAsync();
        await using var bob = await fixture.OpenAsync();
        await using var carol = await fixture.OpenAsync();
        await alice.SignUpAsync(aliceName);
        await bob.SignUpAsync(bobName);
        await carol.SignUpAsync(NewName("carol"));

        await alice.CreateRoomAsync(room, "private");
        await Expect(alice.Member(aliceName)).ToHaveAttributeAsync("data-role", "owner");
        await Expect(alice.Page.GetByTestId("member")).ToHaveCountAsync(1);

        // Invite: typing a prefix suggests bob from the user directory.
        await alice.Page.GetByTestId("invite-name").FillAsync(bobName[..^3]);
        await alice.Page.GetByTestId("invite-suggestion").And(alice.Page.Locator($"[data-user='{bobName}']")).ClickAsync();
        await Expect(alice.Page.GetByTestId("invite-name")).ToHaveValueAsync(bobName);
        await alice.Page.GetByTestId("invite-submit").ClickAsync();
        await Expect(alice.Member(bobName)).ToHaveAttributeAsync("data-role", "member");
        await Expect(alice.Page.GetByTestId("member-count")).ToHaveTextAsync("2");

        // Bob finds the room in his list and both chat in it.
        await bob.RefreshRoomsUntilListedAsync(room);
        await Expect(bob.RoomItem(room)).ToHaveAttributeAsync("data-kind", "private");
        await bob.OpenRoomAsync(room);
        await Expect(bob.Member(aliceName)).ToHaveAttributeAsync("data-role", "owner");
        await Expect(bob.Page.GetByTestId("invite-form")).ToBeHiddenAsync();
        await Expect(bob.Page.GetByTestId("member-ban")).ToHaveCountAsync(0);
        await alice.SendAndWaitAsync("the plan is ready");
        await Expect(bob.MessageWithText("the plan is ready")).ToHaveCountAsync(1);
        await bob.SendAndWaitAsync("great, count me in");
        await Expect(alice.MessageWithText("great, count me in")).ToHaveCountAsync(1);

        // Carol's list has a public room created after the private one, never the private room.
        var marker = NewName("lobby-");
        await fixture.Api.CreateRoomAsync(await fixture.Api.LoginAsync(aliceName, ChatPage.Password), marker);
        await carol.RefreshRoomsUntilListedAsync(marker);
        await Expect(carol.RoomItem(room)).ToHaveCountAsync(0);
        await Expect(carol.Page.GetByText("the plan is ready")).ToHaveCountAsync(0);

        await alice.ScreenshotAsync("private-room-alice");
        Assert.Empty(alice.PageErrors);
        Assert.Empty(bob.PageErrors);
        Assert.Empty(carol.PageErrors);
    }

    [Fact]
    public async Task A_direct_message_opened_from_the_directory_reaches_bob_and_he_answers()
    {
        var aliceName = NewName("alice");
        var bobName = NewName("bob");
        await using var alice = await fixture.OpenAsync();
        await using var bob = await fixture.OpenAsync();
        await alice.SignUpAsync(aliceName);
        await bob.SignUpAsync(bobName);

        await alice.MessageFromDirectoryAsync(bobName);
        await Expect(alice.Page.GetByTestId("room-title-mark")).ToHaveTextAsync("@");
        await Expect(alice.Page.GetByTestId("invite-form")).ToBeHiddenAsync();
        await alice.SendAndWaitAsync("psst, bob");
        var direct = await alice.Page.GetByTestId("room-title").GetAttributeAsync("data-room") ?? throw new InvalidOperationException("no data-room on the title");
        Assert.StartsWith("dm-", direct, StringComparison.Ordinal);

        await bob.RefreshRoomsUntilListedAsync(direct);
        await Expect(bob.RoomItem(direct)).ToHaveAttributeAsync("data-label", aliceName);
        await bob.RoomItem(direct).ClickAsync();
        await Expect(bob.Page.GetByTestId("room-title")).ToHaveTextAsync(aliceName);
        await Expect(bob.MessageWithText("psst, bob")).ToHaveCountAsync(1);
        await bob.SendAndWaitAsync("hi alice");
        await Expect(alice.MessageWithText("hi alice")).ToHaveCountAsync(1);

        // Opening the conversation again from the directory lands in the same room.
        await bob.MessageFromDirectoryAsync(aliceName);
        Assert.Equal(direct, await bob.Page.GetByTestId("room-title").GetAttributeAsync("data-room"));
        await Expect(bob.Page.GetByTestId("room-item").And(bob.Page.Locator("[data-kind='direct']"))).ToHaveCountAsync(1);

        Assert.Empty(alice.PageErrors);
        Assert.Empty(bob.PageErrors);
    }

    [Fact]
    public async Task A_banned_user_s_open_room_is_left_at_once_and_nothing_later_of_it_appears()
    {
        var aliceName = NewName("alice");
        var bobName = NewName("bob");
        var room = NewName("crew-");
        await using var alice = await fixture.OpenAsync();
        await using var bob = await fixture.OpenAsync();
        await alice.SignUpAsync(aliceName);
        await bob.SignUpAsync(bobName);
        await alice.CreateRoomAsync(room, "private");
        await alice.Page.GetByTestId("invite-name").FillAsync(bobName);
        await alice.Page.GetByTestId("invite-submit").ClickAsync();
        await bob.RefreshRoomsUntilListedAsync(room);
        await bob.OpenRoomAsync(room);
        await alice.SendAndWaitAsync("before the ban");
        await Expect(bob.MessageWithText("before the ban")).ToHaveCountAsync(1);

        // Mute first: bob's send is refused with a friendly error.
        await alice.Member(bobName).GetByTestId("member-mute").ClickAsync();
        await Expect(alice.Member(bobName)).ToHaveAttributeAsync("data-muted", "true");
        await Expect(bob.Member(bobName)).ToHaveAttributeAsync("data-muted", "true");
        await bob.SendAsync("am I muted?");
        await Expect(bob.Page.GetByTestId("composer-error")).ToHaveTextAsync("You are not allowed to do that.");
        await alice.Member(bobName).GetByTestId("member-unmute").ClickAsync();
        await Expect(bob.Member(bobName)).ToHaveAttributeAsync("data-muted", "false");

        // The ban: bob's UI leaves the room at once, says why, and the private room leaves his list.
        await alice.Member(bobName).GetByTestId("member-ban").ClickAsync();
        await Expect(bob.Page.GetByTestId("banner-text")).ToHaveTextAsync($"You were banned from #{room}.");
        await Expect(bob.Page.GetByTestId("room-title")).ToHaveTextAsync("global");
        await Expect(bob.RoomItem(room)).ToHaveCountAsync(0);
        await Expect(alice.Member(bobName)).ToHaveCountAsync(0);

        // Later messages of the room never reach bob: a message alice sends after them in global does.
        await alice.SendAndWaitAsync("after the ban");
        await alice.OpenRoomAsync("global");
        var marker = NewName("marker ");
        await alice.SendAndWaitAsync(marker);
        await Expect(bob.MessageWithText(marker)).ToHaveCountAsync(1);
        await Expect(bob.Page.GetByText("after the ban")).ToHaveCountAsync(0);
        await Expect(bob.Page.GetByText("before the ban")).ToHaveCountAsync(0);

        Assert.Empty(alice.PageErrors);
        Assert.Empty(bob.PageErrors);
    }

    [Fact]
    public async Task Member_lists_follow_member_events_and_a_user_removed_from_a_public_room_leaves_it_and_may_come_back()
    {
        var aliceName = NewName("alice");
        var bobName = NewName("bob");
        var room = NewName("open-");
        await using var alice = await fixture.OpenAsync();
        await using var bob = await fixture.OpenAsync();
        await alice.SignUpAsync(aliceName);
        await bob.SignUpAsync(bobName);
        await alice.CreateRoomAsync(room, "public");
        await Expect(alice.Page.GetByTestId("invite-form")).ToBeVisibleAsync();

        // Bob joins by opening the room: alice's member list shows him from the member event.
        await bob.RefreshRoomsUntilListedAsync(room);
        await bob.OpenRoomAsync(room);
        await Expect(alice.Member(bobName)).ToHaveAttributeAsync("data-role", "member");
        await Expect(bob.Member(aliceName)).ToHaveAttributeAsync("data-role", "owner");

        await alice.Member(bobName).GetByTestId("member-remove").ClickAsync();
        await Expect(bob.Page.GetByTestId("banner-text")).ToHaveTextAsync($"You were removed from #{room}.");
        await Expect(bob.Page.GetByTestId("room-title")).ToHaveTextAsync("global");
        await Expect(alice.Member(bobName)).ToHaveCountAsync(0);
        await Expect(alice.Page.GetByTestId("member-count")).ToHaveTextAsync("1");

        // A public room stays listed for him; opening it again makes him a member again.
        await Expect(bob.RoomItem(room)).ToHaveCountAsync(1);
        await bob.OpenRoomAsync(room);
        await Expect(alice.Member(bobName)).ToHaveCountAsync(1);
        await alice.SendAndWaitAsync("welcome back");
        await Expect(bob.MessageWithText("welcome back")).ToHaveCountAsync(1);

        Assert.Empty(alice.PageErrors);
        Assert.Empty(bob.PageErrors);
    }

    [Fact]
    public async Task A_ban_reason_with_html_is_shown_to_the_banned_user_as_literal_text()
    {
        const string Reason = "<img src=x onerror=\"window.__pwned = 1\"><b>bold</b>";
        var aliceName = NewName("alice");
        var bobName = NewName("bob");
        var room = NewName("strict-");
        await using var alice = await fixture.OpenAsync();
        await using var bob = await fixture.OpenAsync();
        await alice.SignUpAsync(aliceName);
        await bob.SignUpAsync(bobName);
        await alice.CreateRoomAsync(room, "private");
        await alice.Page.GetByTestId("invite-name").FillAsync(bobName);
        await alice.Page.GetByTestId("invite-submit").ClickAsync();
        await bob.RefreshRoomsUntilListedAsync(room);
        await bob.OpenRoomAsync(room);

        await fixture.Api.BanAsync(await fixture.Api.LoginAsync(aliceName, ChatPage.Password), room, bobName, Reason);
        await Expect(bob.Page.GetByTestId("banner-text")).ToHaveTextAsync($"You were banned from #{room}: {Reason}");
        await Expect(bob.Page.GetByTestId("banner").Locator("img, b")).ToHaveCountAsync(0);
        Assert.False(await bob.Page.EvaluateAsync<bool>("() => window.__pwned === 1"));
        Assert.Empty(bob.PageErrors);
    }
}
