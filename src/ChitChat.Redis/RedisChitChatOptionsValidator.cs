using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ChitChat.Redis;

/// <summary>Validates <see cref="RedisChitChatOptions"/> at start-up. Messages never contain the configuration string (it may hold a password).</summary>
internal sealed class RedisChitChatOptionsValidator(IServiceProviderIsService? isService = null) : IValidateOptions<RedisChitChatOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisChitChatOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.ConfigurationOptions is null)
        {
            if (string.IsNullOrWhiteSpace(options.Configuration))
            {
                if (isService?.IsService(typeof(IConnectionMultiplexer)) != true)
                {
                    failures.Add($"{RedisChitChatOptions.SectionName}:Configuration is required (e.g. '127.0.0.1:6379') unless an IConnectionMultiplexer is registered.");
                }
            }
            else
            {
                try
                {
                    var parsed = ConfigurationOptions.Parse(options.Configuration);
                    if (parsed.EndPoints.Count == 0)
                    {
                        failures.Add($"{RedisChitChatOptions.SectionName}:Configuration names no endpoint.");
                    }
                }
                catch (Exception ex) when (ex is ArgumentException or FormatException or NotSupportedException)
                {
                    failures.Add($"{RedisChitChatOptions.SectionName}:Configuration cannot be parsed.");
                }
            }
        }
        else if (options.ConfigurationOptions.EndPoints.Count == 0)
        {
            failures.Add("ConfigurationOptions names no endpoint.");
        }

        if (string.IsNullOrWhiteSpace(options.KeyPrefix) || options.KeyPrefix.Any(char.IsWhiteSpace))
        {
            failures.Add($"{RedisChitChatOptions.SectionName}:KeyPrefix must be non-empty and contain no white space.");
        }

        if (options.PresenceTimeout < TimeSpan.FromMilliseconds(100) || options.PresenceTimeout > TimeSpan.FromDays(1))
        {
            failures.Add($"{RedisChitChatOptions.SectionName}:PresenceTimeout must be between 100 ms and 1 day.");
        }
        else if (options.EffectiveHeartbeatInterval <= TimeSpan.Zero || options.EffectiveHeartbeatInterval >= options.PresenceTimeout)
        {
            failures.Add($"{RedisChitChatOptions.SectionName}:PresenceHeartbeatInterval must be positive and shorter than PresenceTimeout.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
