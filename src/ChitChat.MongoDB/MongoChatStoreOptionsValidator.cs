using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MongoDB.Driver;

namespace ChitChat.MongoDB;

/// <summary>Validates <see cref="MongoChatStoreOptions"/> at start-up. Messages name the setting, never echo the connection string (it may hold a password).</summary>
internal sealed class MongoChatStoreOptionsValidator(IServiceProviderIsService? isService = null) : IValidateOptions<MongoChatStoreOptions>
{
    private const string Section = MongoChatStoreOptions.SectionName;

    public ValidateOptionsResult Validate(string? name, MongoChatStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var clientInServices = isService?.IsService(typeof(IMongoClient)) == true;
        var failures = Validate(options, clientInServices);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Validates options; <paramref name="clientInServices"/> tells whether an <see cref="IMongoClient"/> can come from DI.</summary>
    public static List<string> Validate(MongoChatStoreOptions options, bool clientInServices)
    {
        var failures = new List<string>();
        if (options.UseClientFromServices && !clientInServices)
        {
            failures.Add($"{Section}:UseClientFromServices is set but no IMongoClient is registered in the service collection.");
        }

        var needsConnectionString = !options.UseClientFromServices && !clientInServices;
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            if (needsConnectionString)
            {
                failures.Add($"{Section}:ConnectionString is required (e.g. mongodb://127.0.0.1:27017), or register an IMongoClient.");
            }
        }
        else if (!TryParseUrl(options.ConnectionString, out var error))
        {
            failures.Add($"{Section}:ConnectionString is not a valid MongoDB connection string: {error}");
        }

        if (DatabaseNameError(options.Database) is { } databaseError)
        {
            failures.Add($"{Section}:Database {databaseError}");
        }

        if (options.CollectionPrefix is null || options.CollectionPrefix.Contains('$', StringComparison.Ordinal) || options.CollectionPrefix.Contains('\0', StringComparison.Ordinal)
            || options.CollectionPrefix.StartsWith("system.", StringComparison.Ordinal) || options.CollectionPrefix.Length > 64)
        {
            failures.Add($"{Section}:CollectionPrefix must be at most 64 characters without '$' or NUL and must not start with 'system.'.");
        }

        if (options.WriteConcern is not null && string.IsNullOrWhiteSpace(options.WriteConcern))
        {
            failures.Add($"{Section}:WriteConcern must be 'majority', a number of members or a tag set name.");
        }
        else if (options.WriteConcern is not null && int.TryParse(options.WriteConcern, NumberStyles.Integer, CultureInfo.InvariantCulture, out var w) && w < 1)
        {
            failures.Add($"{Section}:WriteConcern must be at least 1: the store needs acknowledged writes to detect duplicate keys.");
        }

        if (options.WriteConcernTimeout is { } timeout && timeout <= TimeSpan.Zero)
        {
            failures.Add($"{Section}:WriteConcernTimeout must be positive.");
        }

        if (options.PendingWriteTimeout < TimeSpan.FromSeconds(1) || options.PendingWriteTimeout > TimeSpan.FromDays(1))
        {
            failures.Add($"{Section}:PendingWriteTimeout must be between 1 second and 1 day.");
        }

        if (options.MaxAppendAttempts < 1)
        {
            failures.Add($"{Section}:MaxAppendAttempts must be at least 1.");
        }

        return failures;
    }

    /// <summary>Returns why <paramref name="database"/> is not a valid MongoDB database name, or <see langword="null"/>.</summary>
    public static string? DatabaseNameError(string? database)
    {
        if (string.IsNullOrWhiteSpace(database))
        {
            return "is required.";
        }

        if (Encoding.UTF8.GetByteCount(database) >= 64)
        {
            return "must be shorter than 64 bytes.";
        }

        return database.IndexOfAny(['/', '\\', '.', ' ', '"', '$', '*', '<', '>', ':', '|', '?', '\0']) >= 0
            ? "must not contain any of / \\ . space \" $ * < > : | ? or NUL."
            : null;
    }

    private static bool TryParseUrl(string connectionString, out string error)
    {
        try
        {
            _ = MongoUrl.Create(connectionString);
            error = string.Empty;
            return true;
        }
        catch (Exception ex) when (ex is MongoConfigurationException or ArgumentException or FormatException or UriFormatException)
        {
            // The driver's message describes the syntax problem; it does not repeat the credentials.
            error = ex.GetType().Name;
            return false;
        }
    }
}
