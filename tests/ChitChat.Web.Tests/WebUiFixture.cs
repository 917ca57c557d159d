using Microsoft.Playwright;

namespace ChitChat.Web.Tests;

/// <summary>One server and one headless Chromium shared by the UI tests of a class.</summary>
public class WebUiFixture : IAsyncLifetime
{
    private static readonly string[] ChromiumArgs =
    [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
    ];

    private IPlaywright? _playwright;

    public ChitChatServer Server { get; private set; } = null!;

    public ChitChatApi Api { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Where screenshots go: $CHITCHAT_SCREENSHOT_DIR, else TestResults/screenshots in the output directory.</summary>
    public static string ScreenshotDirectory { get; } =
        Environment.GetEnvironmentVariable("CHITCHAT_SCREENSHOT_DIR") is { Length: > 0 } dir
            ? dir
            : Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");

    /// <summary>Configuration overrides of this fixture's server (default: no send rate limit, to seed history fast).</summary>
    protected virtual IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["ChitChat:SendRateLimit"] = "0",
    };

    public async ValueTask InitializeAsync()
    {
        Assertions.SetDefaultExpectTimeout(30_000);
        Server = ChitChatServer.Start(Settings);
        Api = new ChitChatApi(Server.BaseAddress);
        _playwright = await Playwright.CreateAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ChromiumArgs,
            Timeout = 60_000,
        }).WaitAsync(TimeSpan.FromSeconds(90));
        Directory.CreateDirectory(ScreenshotDirectory);
    }

    /// <summary>A fresh browser context (own sessionStorage) with a page on the app.</summary>
    public async Task<ChatPage> OpenAsync(int width = 1280, int height = 800)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Server.BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
            DeviceScaleFactor = 1,
        }).WaitAsync(TimeSpan.FromSeconds(30));
        context.SetDefaultTimeout(30_000);
        var page = await context.NewPageAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var chat = new ChatPage(context, page);
        await page.GotoAsync("/").WaitAsync(TimeSpan.FromSeconds(30));
        return chat;
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        _playwright?.Dispose();
        Api?.Dispose();
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}

/// <summary>A server whose send rate limit is tiny: 2 messages per 10 minutes per user.</summary>
public sealed class RateLimitedWebUiFixture : WebUiFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["ChitChat:SendRateLimit"] = "2",
        ["ChitChat:SendRateWindow"] = "00:10:00",
    };
}
