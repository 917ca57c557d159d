using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace ChitChat.Web.Tests;

/// <summary>Drives the ChitChat UI of one browser context through its data-testid attributes.</summary>
public sealed class ChatPage : IAsyncDisposable
{
    public const string Password = "correct-horse-battery";

    private readonly List<string> _pageErrors = [];

    public ChatPage(IBrowserContext context, IPage page)
    {
        Context = context;
        Page = page;
        Page.PageError += (_, error) =>
        {
            lock (_pageErrors)
            {
                _pageErrors.Add(error);
            }
        };
    }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    /// <summary>Uncaught script errors of the page (must stay empty).</summary>
    public IReadOnlyList<string> PageErrors
    {
        get
        {
            lock (_pageErrors)
            {
                return [.. _pageErrors];
            }
        }
    }

    public ILocator Messages => Page.GetByTestId("message-list").GetByTestId("message");

    public ILocator ConnectionState => Page.GetByTestId("connection-state");

    public async Task SignUpAsync(string userName, string? firstName = null, string? lastName = null)
    {
        await Page.GetByTestId("tab-signup").ClickAsync();
        await Page.GetByTestId("signup-username").FillAsync(userName);
        await Page.GetByTestId("signup-password").FillAsync(Password);
        if (firstName is not null)
        {
            await Page.GetByTestId("signup-firstname").FillAsync(firstName);
        }

        if (lastName is not null)
        {
            await Page.GetByTestId("signup-lastname").FillAsync(lastName);
        }

        await Page.GetByTestId("signup-submit").ClickAsync();
        await WaitOnlineAsync("after sign-up");
    }

    public async Task LogInAsync(string userName, string password = Password)
    {
        await Page.GetByTestId("login-username").FillAsync(userName);
        await Page.GetByTestId("login-password").FillAsync(password);
        await Page.GetByTestId("login-submit").ClickAsync();
    }

    public async Task WaitOnlineAsync(string phase)
    {
        await Expect(Page.GetByTestId("chat-view")).ToBeVisibleAsync(new() { Timeout = 30_000 });
        try
        {
            await Expect(ConnectionState).ToHaveAttributeAsync("data-state", "online", new() { Timeout = 30_000 });
        }
        catch (PlaywrightException e)
        {
            throw new InvalidOperationException($"The UI did not get online ({phase}).", e);
        }
    }

    /// <summary>Opens a room from the sidebar (through the toggle on narrow screens).</summary>
    public async Task OpenRoomAsync(string room)
    {
        var item = Page.GetByTestId("room-item").And(Page.Locator($"[data-room='{room}']"));
        if (await Page.GetByTestId("sidebar-toggle").IsVisibleAsync()
            && !await Page.EvaluateAsync<bool>("() => document.body.classList.contains('sidebar-open')"))
        {
            await Page.GetByTestId("sidebar-toggle").ClickAsync();
            await Expect(item).ToBeInViewportAsync();
        }

        await item.ClickAsync();
        await Expect(Page.GetByTestId("room-title")).ToHaveTextAsync(room);
        await Expect(Page.GetByTestId("history-status")).Not.ToHaveTextAsync("Loading messages…");
    }

    /// <summary>The sidebar entry of a room.</summary>
    public ILocator RoomItem(string room) => Page.GetByTestId("room-item").And(Page.Locator($"[data-room='{room}']"));

    /// <summary>A member of the current room's member list.</summary>
    public ILocator Member(string userName) => Page.GetByTestId("member").And(Page.Locator($"[data-user='{userName}']"));

    /// <summary>Creates a room from the sidebar form with the kind chosen, and waits until it is shown.</summary>
    public async Task CreateRoomAsync(string room, string kind)
    {
        await Page.GetByTestId("new-room-name").FillAsync(room);
        await Page.GetByTestId("new-room-kind").SelectOptionAsync(kind);
        await Page.GetByTestId("new-room-submit").ClickAsync();
        await Expect(Page.GetByTestId("room-title")).ToHaveTextAsync(room);
        await Expect(RoomItem(room)).ToHaveAttributeAsync("data-kind", kind);
    }

    /// <summary>Reloads the room list (the ↻ button) and waits until <paramref name="room"/> is listed.</summary>
    public async Task RefreshRoomsUntilListedAsync(string room)
    {
        await Page.GetByTestId("rooms-refresh").ClickAsync();
        await Expect(RoomItem(room)).ToHaveCountAsync(1);
    }

    /// <summary>Finds a user in the directory and opens the direct conversation with them.</summary>
    public async Task MessageFromDirectoryAsync(string userName)
    {
        await Page.GetByTestId("user-search").FillAsync(userName);
        var result = Page.GetByTestId("user-result").And(Page.Locator($"[data-user='{userName}']"));
        await result.GetByTestId("user-dm").ClickAsync();
        await Expect(Page.GetByTestId("room-title")).ToHaveTextAsync(userName);
        await Expect(Page.GetByTestId("room-title")).ToHaveAttributeAsync("data-kind", "direct");
        await Expect(Page.GetByTestId("history-status")).Not.ToHaveTextAsync("Loading messages…");
    }

    public async Task SendAsync(string text)
    {
        var input = Page.GetByTestId("composer-input");
        await input.FillAsync(text);
        await input.PressAsync("Enter");
    }

    /// <summary>Sends and waits until the message is acknowledged and shown with its seq.</summary>
    public async Task SendAndWaitAsync(string text)
    {
        await SendAsync(text);
        await Expect(Messages.Filter(new() { Has = Page.GetByTestId("message-text").GetByText(text, new() { Exact = true }) }))
            .ToHaveCountAsync(1);
    }

    /// <summary>The rendered messages as (seq, author, text, own), in DOM order.</summary>
    public async Task<IReadOnlyList<(long Seq, string Author, string Text, bool Own)>> RenderedAsync()
    {
        var rows = await Page.GetByTestId("message-list").EvaluateAsync<string[][]>(
            "list => [...list.querySelectorAll('[data-testid=message]')].map(li => [li.dataset.seq, li.dataset.author, li.querySelector('[data-testid=message-text]').textContent, li.dataset.own])");
        return [.. rows.Select(r => (long.Parse(r[0], System.Globalization.CultureInfo.InvariantCulture), r[1], r[2], r[3] == "true"))];
    }

    public ILocator MessageWithText(string text) =>
        Messages.Filter(new() { Has = Page.GetByTestId("message-text").GetByText(text, new() { Exact = true }) });

    public Task ScreenshotAsync(string name) =>
        Page.ScreenshotAsync(new() { Path = Path.Combine(WebUiFixture.ScreenshotDirectory, Regex.Replace(name, "[^a-zA-Z0-9_-]", "_") + ".png") });

    public async ValueTask DisposeAsync() => await Context.CloseAsync();
}
