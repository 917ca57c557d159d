using System.Diagnostics.CodeAnalysis;

namespace ChitChat.Providers;

/// <summary>
/// Declares, on a provider assembly, the type that registers one of its providers when configuration selects it, e.g.
/// <c>[assembly: ChitChatProvider(typeof(SqliteProviderRegistration))]</c>. The type implements
/// <see cref="IChitChatProviderRegistration"/> and has a public parameterless constructor.
/// </summary>
/// <remarks>
/// Core never references a provider package: <c>builder.AddChitChat()</c> loads the assembly of the provider that
/// <c>ChitChat:Store</c>, <c>ChitChat:Transport</c> or <c>ChitChat:Replication</c> names, only then, and reads this attribute
/// from it. An assembly may carry several (one per provider it contains).
/// </remarks>
/// <param name="registrationType">The registration type.</param>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
public sealed class ChitChatProviderAttribute(
    [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] Type registrationType) : Attribute
{
    /// <summary>Gets the type that implements <see cref="IChitChatProviderRegistration"/>.</summary>
    [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)]
    public Type RegistrationType { get; } = registrationType ?? throw new ArgumentNullException(nameof(registrationType));
}
