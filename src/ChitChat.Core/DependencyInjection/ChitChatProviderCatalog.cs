using System.Reflection;
using System.Runtime.CompilerServices;
using ChitChat.Providers;

[assembly: InternalsVisibleTo("ChitChat.Hosting.Tests")]

namespace ChitChat.Providers;

/// <summary>One provider that configuration can name: its kind, its name and the assembly (= package) that declares it.</summary>
/// <param name="Kind">What it supplies.</param>
/// <param name="Name">The configuration value that selects it.</param>
/// <param name="AssemblyName">The assembly that declares it with <see cref="ChitChatProviderAttribute"/>; also the package id.</param>
/// <param name="IsDefault">Whether it is used when the key is not set.</param>
internal sealed record ChitChatProviderEntry(ChitChatProviderKind Kind, string Name, string AssemblyName, bool IsDefault = false);

/// <summary>The outcome of looking a provider up: its registration, or the error to report at start-up.</summary>
/// <param name="Registration">The registration, when the provider is available.</param>
/// <param name="Error">Why it is not.</param>
internal readonly record struct ChitChatProviderResolution(IChitChatProviderRegistration? Registration, string? Error);

/// <summary>
/// The providers configuration can name, and where each lives. Core knows the names and package ids (so that an unknown
/// value lists the valid ones and a missing package is named); the types come from the provider assemblies themselves,
/// loaded only when configuration asks for them.
/// </summary>
internal sealed class ChitChatProviderCatalog(IReadOnlyList<ChitChatProviderEntry> entries)
{
    private const string CoreAssembly = "ChitChat.Core";

    /// <summary>Gets the providers of the ChitChat packages.</summary>
    public static ChitChatProviderCatalog Default { get; } = new(
    [
        new(ChitChatProviderKind.Store, "Sqlite", "ChitChat.Sqlite", IsDefault: true),
        new(ChitChatProviderKind.Store, "InMemory", CoreAssembly),
        new(ChitChatProviderKind.Store, "MongoDB", "ChitChat.MongoDB"),
        new(ChitChatProviderKind.Transport, "InProcess", CoreAssembly, IsDefault: true),
        new(ChitChatProviderKind.Transport, "Redis", "ChitChat.Redis"),
        new(ChitChatProviderKind.Replication, "Replication", "ChitChat.Replication"),
    ]);

    /// <summary>Gets the entries.</summary>
    public IReadOnlyList<ChitChatProviderEntry> Entries { get; } = entries;

    /// <summary>Returns a catalog with one more entry (tests: a provider whose assembly does not exist).</summary>
    /// <param name="entry">The entry.</param>
    /// <returns>The new catalog.</returns>
    public ChitChatProviderCatalog With(ChitChatProviderEntry entry) => new([.. Entries, entry]);

    /// <summary>Finds the provider that <paramref name="key"/> = <paramref name="value"/> selects.</summary>
    /// <param name="kind">The kind.</param>
    /// <param name="value">The configured name (for replication, any: there is one provider).</param>
    /// <param name="key">The configuration key, for the error message.</param>
    /// <returns>The registration, or the error.</returns>
    public ChitChatProviderResolution Resolve(ChitChatProviderKind kind, string value, string key)
    {
        var candidates = Entries.Where(e => e.Kind == kind).ToArray();
        var entry = kind == ChitChatProviderKind.Replication
            ? candidates.FirstOrDefault()
            : candidates.FirstOrDefault(e => string.Equals(e.Name, value, StringComparison.OrdinalIgnoreCase));
        if (entry is null)
        {
            var valid = string.Join(", ", candidates.Select(e => e.IsDefault ? $"{e.Name} (default)" : e.Name));
            return new(null, $"{key} is '{value}', which is not a ChitChat {Describe(kind)}. Valid values: {valid}.");
        }

        Assembly assembly;
        try
        {
            assembly = Assembly.Load(new AssemblyName(entry.AssemblyName));
        }
        catch (FileNotFoundException)
        {
            return new(null, $"{key} is '{value}' but the {entry.AssemblyName} package is not referenced: dotnet add package {entry.AssemblyName}");
        }
        catch (Exception ex) when (ex is FileLoadException or BadImageFormatException)
        {
            return new(null, $"{key} is '{value}' but the {entry.AssemblyName} assembly could not be loaded: {ex.Message}");
        }

        foreach (var attribute in assembly.GetCustomAttributes<ChitChatProviderAttribute>())
        {
            if (Activator.CreateInstance(attribute.RegistrationType) is IChitChatProviderRegistration registration
                && registration.Kind == kind
                && string.Equals(registration.Name, entry.Name, StringComparison.OrdinalIgnoreCase))
            {
                return new(registration, null);
            }
        }

        return new(null, $"{key} is '{value}' but {entry.AssemblyName} declares no {Describe(kind)} named '{entry.Name}': use the same version of every ChitChat package.");
    }

    private static string Describe(ChitChatProviderKind kind) => kind switch
    {
        ChitChatProviderKind.Store => "store",
        ChitChatProviderKind.Transport => "transport",
        _ => "replication provider",
    };
}
