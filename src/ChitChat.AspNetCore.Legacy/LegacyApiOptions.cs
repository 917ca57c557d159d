using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace ChitChat.AspNetCore.Legacy;

/// <summary>
/// Options of the ChitChat 1 compatible API, bound from <c>ChitChat:Legacy</c> and validated at start-up.
/// The legacy API is unauthenticated by design (as the original app was), so it is off by default.
/// See <c>docs/legacy.md</c>.
/// </summary>
public sealed class LegacyApiOptions
{
    /// <summary>The configuration section name: <c>ChitChat:Legacy</c>.</summary>
    public const string SectionName = "ChitChat:Legacy";

    /// <summary>Gets or sets a value indicating whether <c>MapChitChatLegacy</c> maps the legacy endpoints.</summary>
    /// <value>Default <see langword="false"/>.</value>
    public bool Enabled { get; set; }

    /// <summary>
    /// Gets or sets the browser origins (e.g. <c>https://chat.example.com</c>) allowed to call the legacy HTTP API (CORS)
    /// and to open legacy WebSockets (Origin check). Non-browser clients that send no <c>Origin</c> are not affected.
    /// </summary>
    /// <value>Default none.</value>
    public IList<string> AllowedOrigins { get; } = [];

    /// <summary>Gets or sets the largest legacy WebSocket message, in bytes; a larger one closes the socket (1009).</summary>
    /// <value>Default 16 KiB.</value>
    [Range(256, 1024 * 1024)]
    public int MaxFrameBytes { get; set; } = 16 * 1024;

    /// <summary>Gets or sets the largest legacy HTTP request body, in bytes.</summary>
    /// <value>Default 64 KiB.</value>
    [Range(1024, 16 * 1024 * 1024)]
    public int MaxRequestBodyBytes { get; set; } = 64 * 1024;

    /// <summary>Gets or sets how many WebSocket messages one legacy connection may broadcast per <see cref="FrameRateWindow"/>; more are dropped.</summary>
    /// <value>Default 20. Set 0 to disable.</value>
    [Range(0, 1_000_000)]
    public int FrameRateLimit { get; set; } = 20;

    /// <summary>Gets or sets the window of <see cref="FrameRateLimit"/>.</summary>
    /// <value>Default 10 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan FrameRateWindow { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets how many <c>/register/</c> and <c>/login/</c> requests one client address may make per
    /// <see cref="AuthRateWindow"/> (password hashing is expensive). Enforced by ASP.NET Core's rate limiter (the
    /// <c>app.UseChitChat()</c> middleware) with a named policy on those two endpoints.</summary>
    /// <value>Default 10. Set 0 to disable.</value>
    [Range(0, 1_000_000)]
    public int AuthRateLimit { get; set; } = 10;

    /// <summary>Gets or sets the window of <see cref="AuthRateLimit"/>.</summary>
    /// <value>Default 1 minute.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan AuthRateWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Gets or sets how many frames may wait for one slow legacy WebSocket client before it is disconnected.</summary>
    /// <value>Default 256.</value>
    [Range(1, 100_000)]
    public int MaxPendingFrames { get; set; } = 256;

    /// <summary>Gets or sets the number of messages <c>POST /message/all/</c> returns (the latest ones, oldest first).</summary>
    /// <value>Default 500.</value>
    [Range(1, 10_000)]
    public int HistoryLimit { get; set; } = 500;
}

/// <summary>Validates <see cref="LegacyApiOptions.AllowedOrigins"/>.</summary>
internal sealed class LegacyApiOptionsValidator : IValidateOptions<LegacyApiOptions>
{
    public ValidateOptionsResult Validate(string? name, LegacyApiOptions options)
    {
        var failures = new List<string>();
        foreach (var origin in options.AllowedOrigins)
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri)
                || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
                || uri.PathAndQuery != "/"
                || origin.EndsWith('/'))
            {
                failures.Add($"ChitChat:Legacy:AllowedOrigins: '{origin}' is not an origin such as https://chat.example.com (scheme, host and optional port, no path).");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
