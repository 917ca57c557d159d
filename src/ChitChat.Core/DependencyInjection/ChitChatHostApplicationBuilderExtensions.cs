using ChitChat;
using ChitChat.Providers;
using Microsoft.Extensions.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>The entry point of a ChitChat host: ChitChat with the providers its configuration names.</summary>
public static class ChitChatHostApplicationBuilderExtensions
{
    /// <summary>
    /// Adds ChitChat (what <c>services.AddChitChat(configure)</c> registers: options bound from the <c>ChitChat</c> section and
    /// validated at start-up, the services and the defaults) with the store, transport and replication chosen by the application's configuration, from the provider packages
    /// the application references:
    /// <list type="bullet">
    /// <item><c>ChitChat:Store</c>: <c>Sqlite</c> (default; <c>ChitChat:Sqlite:ConnectionString</c>, default
    /// <c>Data Source=data/chitchat.db</c>; package ChitChat.Sqlite), <c>InMemory</c>, <c>MongoDB</c>
    /// (<c>ChitChat:MongoDB:ConnectionString</c> and <c>:Database</c>; package ChitChat.MongoDB).</item>
    /// <item><c>ChitChat:Transport</c>: <c>InProcess</c> (default), <c>Redis</c> (<c>ChitChat:Redis:Configuration</c>;
    /// package ChitChat.Redis): the Redis transport, cross-node presence and the Redis lease. When the key is not set
    /// and <c>ChitChat:Redis:Configuration</c> is, Redis is used.</item>
    /// <item><c>ChitChat:Replication:Enabled</c> = <see langword="true"/>: the replication router and sync service
    /// (package ChitChat.Replication) over <c>ChitChat:Replication:Primary</c> and <c>:Replicas:{name}</c>, each built by
    /// the provider its <c>Store</c> key names.</item>
    /// </list>
    /// </summary>
    /// <remarks>
    /// <para>
    /// A value that names no provider stops the host at start-up with the valid values; a provider whose package is
    /// not referenced stops it with the package to add (<c>ChitChat:Store is 'MongoDB' but the ChitChat.MongoDB package
    /// is not referenced: dotnet add package ChitChat.MongoDB</c>).
    /// </para>
    /// <para>
    /// Explicit calls on the returned builder win over configuration: <c>UseSqlite</c>, <c>UseMongoDB</c>,
    /// <c>UseInMemoryStore</c> or <c>UseStore</c> replace the configured store (and, made after it, the replication router:
    /// call <c>AddReplication</c> after them), <c>UseRedisTransport</c> or <c>UseInProcessTransport</c> the configured
    /// transport. Calling this method more than once applies the configuration once.
    /// </para>
    /// <para>
    /// Providers declare themselves with <see cref="ChitChatProviderAttribute"/>; their assemblies are loaded by name only
    /// when configuration selects them, so Core references none of them.
    /// </para>
    /// </remarks>
    /// <param name="builder">The host application builder (e.g. <c>WebApplication.CreateBuilder(args)</c> or <c>Host.CreateApplicationBuilder(args)</c>).</param>
    /// <param name="configure">Configures the options after configuration binding.</param>
    /// <returns>The builder for further registrations (<c>AddAspNetCore()</c>, explicit <c>Use*</c> calls).</returns>
    public static IChitChatBuilder AddChitChat(this IHostApplicationBuilder builder, Action<ChitChatOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddChitChat(ChitChatProviderCatalog.Default, configure);
    }

    /// <summary>Adds ChitChat with the providers of <paramref name="catalog"/> (tests: providers whose packages are missing).</summary>
    internal static IChitChatBuilder AddChitChat(this IHostApplicationBuilder builder, ChitChatProviderCatalog catalog, Action<ChitChatOptions>? configure = null)
    {
        var chat = builder.Services.AddChitChat(configure);
        ChitChatProviderSelection.Apply(chat, builder.Configuration, catalog);
        return chat;
    }
}
