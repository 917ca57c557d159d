using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace ChitChat;

/// <summary>ChitChat's rules and limits, bound from the <c>ChitChat</c> configuration section and validated at start-up.</summary>
public sealed class ChitChatOptions
{
    /// <summary>The configuration section name: <c>ChitChat</c>.</summary>
    public const string SectionName = "ChitChat";

    /// <summary>Gets or sets the room that always exists.</summary>
    /// <value>Default <c>global</c>.</value>
    [Required]
    [RegularExpression("^[a-z0-9_-]{1,64}$")]
    public string DefaultRoom { get; set; } = "global";

    /// <summary>Gets or sets the maximum message length in UTF-16 code units.</summary>
    /// <value>Default 4000.</value>
    [Range(1, 1_000_000)]
    public int MaxMessageLength { get; set; } = 4000;

    /// <summary>Gets or sets the minimum user name length.</summary>
    /// <value>Default 3.</value>
    [Range(1, 64)]
    public int MinUserNameLength { get; set; } = 3;

    /// <summary>Gets or sets the maximum user name length.</summary>
    /// <value>Default 32.</value>
    [Range(1, 256)]
    public int MaxUserNameLength { get; set; } = 32;

    /// <summary>Gets or sets the minimum password length.</summary>
    /// <value>Default 8.</value>
    [Range(1, 128)]
    public int MinPasswordLength { get; set; } = 8;

    /// <summary>Gets or sets the maximum password length (bounds hashing cost).</summary>
    /// <value>Default 256.</value>
    [Range(8, 4096)]
    public int MaxPasswordLength { get; set; } = 256;

    /// <summary>Gets or sets the maximum first or last name length.</summary>
    /// <value>Default 64.</value>
    [Range(1, 1024)]
    public int MaxPersonNameLength { get; set; } = 64;

    /// <summary>Gets or sets the PBKDF2-HMAC-SHA256 iteration count for new password hashes.</summary>
    /// <value>Default 600,000 (OWASP 2023). Lower it only for tests and benchmarks.</value>
    [Range(1, 10_000_000)]
    public int PasswordHashIterations { get; set; } = 600_000;

    /// <summary>Gets or sets the maximum idempotency key length.</summary>
    /// <value>Default 64.</value>
    [Range(1, 256)]
    public int MaxClientMessageIdLength { get; set; } = 64;

    /// <summary>Gets or sets the history page size when none is given.</summary>
    /// <value>Default 50.</value>
    [Range(1, 10_000)]
    public int DefaultHistoryPageSize { get; set; } = 50;

    /// <summary>Gets or sets the largest history page.</summary>
    /// <value>Default 500.</value>
    [Range(1, 10_000)]
    public int MaxHistoryPageSize { get; set; } = 500;

    /// <summary>Gets or sets how many missed messages a catch-up (join) returns before the client must page.</summary>
    /// <value>Default 500.</value>
    [Range(1, 10_000)]
    public int CatchUpLimit { get; set; } = 500;

    /// <summary>Gets or sets the per-user send rate limit: messages per <see cref="SendRateWindow"/>.</summary>
    /// <value>Default 20. Set 0 to disable.</value>
    [Range(0, 1_000_000)]
    public int SendRateLimit { get; set; } = 20;

    /// <summary>Gets or sets the window of <see cref="SendRateLimit"/>.</summary>
    /// <value>Default 10 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan SendRateWindow { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets how long a typing indicator lasts on receivers.</summary>
    /// <value>Default 5 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan TypingExpiry { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets the most people in a direct room (the caller included).</summary>
    /// <value>Default 10.</value>
    [Range(2, 1000)]
    public int MaxDirectMembers { get; set; } = 10;

    /// <summary>Gets or sets the maximum length of a room's topic in UTF-16 code units.</summary>
    /// <value>Default 512.</value>
    [Range(1, 100_000)]
    public int MaxTopicLength { get; set; } = 512;

    /// <summary>Gets or sets the maximum length of a ban's reason in UTF-16 code units.</summary>
    /// <value>Default 512.</value>
    [Range(1, 100_000)]
    public int MaxBanReasonLength { get; set; } = 512;

    /// <summary>Gets or sets how long after sending its author may edit a message (<c>ChitChat:EditWindow</c>); deleting is not limited.</summary>
    /// <value>Default 24 hours (<c>1.00:00:00</c>).</value>
    [Range(typeof(TimeSpan), "00:00:00", "3650.00:00:00")]
    public TimeSpan EditWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Gets or sets the most distinct emojis on one message (<c>ChitChat:MaxReactionsPerMessage</c>).</summary>
    /// <value>Default 20.</value>
    [Range(1, 1000)]
    public int MaxReactionsPerMessage { get; set; } = 20;

    /// <summary>Gets or sets the page size of <c>GetEvents</c> and <c>GET .../events</c> when <c>limit</c> is omitted.</summary>
    /// <value>Default 100.</value>
    [Range(1, 10_000)]
    public int DefaultEventsPageSize { get; set; } = 100;

    /// <summary>Gets or sets the largest page of <c>GetEvents</c> and <c>GET .../events</c> (a larger <c>limit</c> is reduced to it).</summary>
    /// <value>Default 500.</value>
    [Range(1, 10_000)]
    public int MaxEventsPageSize { get; set; } = 500;

    /// <summary>Gets or sets the page size of a search when <c>limit</c> is omitted.</summary>
    /// <value>Default 20.</value>
    [Range(1, 1000)]
    public int DefaultSearchPageSize { get; set; } = 20;

    /// <summary>Gets or sets the largest page of a search (a larger <c>limit</c> is reduced to it).</summary>
    /// <value>Default 100.</value>
    [Range(1, 1000)]
    public int MaxSearchPageSize { get; set; } = 100;
}

/// <summary>Cross-property validation of <see cref="ChitChatOptions"/>.</summary>
internal sealed class ChitChatOptionsValidator : IValidateOptions<ChitChatOptions>
{
    public ValidateOptionsResult Validate(string? name, ChitChatOptions options)
    {
        var failures = new List<string>();
        if (options.MinUserNameLength > options.MaxUserNameLength)
        {
            failures.Add($"ChitChat:MinUserNameLength ({options.MinUserNameLength}) must not exceed ChitChat:MaxUserNameLength ({options.MaxUserNameLength}).");
        }

        if (options.MinPasswordLength > options.MaxPasswordLength)
        {
            failures.Add($"ChitChat:MinPasswordLength ({options.MinPasswordLength}) must not exceed ChitChat:MaxPasswordLength ({options.MaxPasswordLength}).");
        }

        if (options.DefaultHistoryPageSize > options.MaxHistoryPageSize)
        {
            failures.Add($"ChitChat:DefaultHistoryPageSize ({options.DefaultHistoryPageSize}) must not exceed ChitChat:MaxHistoryPageSize ({options.MaxHistoryPageSize}).");
        }

        if (options.DefaultEventsPageSize > options.MaxEventsPageSize)
        {
            failures.Add($"ChitChat:DefaultEventsPageSize ({options.DefaultEventsPageSize}) must not exceed ChitChat:MaxEventsPageSize ({options.MaxEventsPageSize}).");
        }

        if (options.DefaultSearchPageSize > options.MaxSearchPageSize)
        {
            failures.Add($"ChitChat:DefaultSearchPageSize ({options.DefaultSearchPageSize}) must not exceed ChitChat:MaxSearchPageSize ({options.MaxSearchPageSize}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
