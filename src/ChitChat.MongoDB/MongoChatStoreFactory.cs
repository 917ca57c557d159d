using ChitChat.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChitChat.MongoDB;

/// <summary>
/// Builds MongoDB stores by name for configuration-driven hosts and replication (<see cref="IChatStoreFactory.ProviderName"/>
/// <c>MongoDB</c>). Each store owns its own client; the other options (prefix, write concern, ...) come from
/// <c>ChitChat:MongoDB</c>.
/// </summary>
internal sealed class MongoChatStoreFactory(IOptionsMonitor<MongoChatStoreOptions> defaults, TimeProvider time, ILoggerFactory loggerFactory) : IChatStoreFactory
{
    public string ProviderName => "MongoDB";

    public IChatStore Create(string name, ChatStoreSettings settings)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(settings);
        var options = defaults.CurrentValue.Clone();
        options.UseClientFromServices = false;
        options.ConnectionString = settings.ConnectionString;
        if (!string.IsNullOrWhiteSpace(settings.Database))
        {
            options.Database = settings.Database;
        }

        var failures = MongoChatStoreOptionsValidator.Validate(options, clientInServices: false);
        if (failures.Count > 0)
        {
            // Name the store so a replica's misconfiguration is easy to find; never echo the connection string.
            throw new OptionsValidationException(name, typeof(MongoChatStoreOptions), failures.Select(f => $"Store '{name}': {f}"));
        }

        return MongoChatStore.Create(options, time, loggerFactory);
    }
}
