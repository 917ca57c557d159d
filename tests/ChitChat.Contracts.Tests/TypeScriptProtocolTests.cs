using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ChitChat.Contracts.Tests;

/// <summary>
/// The TypeScript SDK declares the same wire shapes as <c>ChitChat.Contracts</c> in <c>clients/typescript/src/protocol.ts</c>
/// (TypeScript cannot reference a .NET assembly). This test keeps the two one definition in practice: every contract has
/// an interface with exactly its JSON field names, and each field's type and nullability agree.
/// </summary>
public sealed partial class TypeScriptProtocolTests
{
    private static readonly NullabilityInfoContext Nullability = new();

    private static readonly Lazy<IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>> Interfaces = new(ReadProtocolTs);

    /// <summary>Every record of the contracts assembly, the wire shapes.</summary>
    public static TheoryData<Type> ContractRecords() => new(typeof(MessageDto).Assembly.GetExportedTypes().Where(t => t.GetMethod("<Clone>$") is not null));

    [Fact]
    public void Every_TypeScript_interface_is_a_contract()
    {
        var contracts = typeof(MessageDto).Assembly.GetExportedTypes().Select(TypeScriptName).ToHashSet(StringComparer.Ordinal);
        Assert.All(Interfaces.Value.Keys, name => Assert.True(contracts.Contains(name), $"protocol.ts declares {name}, which is no type of ChitChat.Contracts"));
    }

    [Theory]
    [MemberData(nameof(ContractRecords))]
    public void The_TypeScript_interface_has_the_contracts_fields_with_agreeing_types(Type contract)
    {
        var name = TypeScriptName(contract);
        Assert.True(Interfaces.Value.TryGetValue(name, out var fields), $"protocol.ts has no interface {name} for {contract.Name}");
        var properties = contract.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.Name != "EqualityContract").ToArray();
        Assert.Equal(properties.Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name)).Order(StringComparer.Ordinal), fields.Keys.Order(StringComparer.Ordinal));

        // A request body may be stricter in TypeScript (the client must send a field the server validates as present).
        var isRequest = contract.Name.EndsWith("Body", StringComparison.Ordinal);
        foreach (var property in properties)
        {
            var field = JsonNamingPolicy.CamelCase.ConvertName(property.Name);
            var (type, nullable) = Parse(fields[field]);
            Assert.True(type == Expected(property.PropertyType), $"{name}.{field}: protocol.ts says '{type}', the contract {contract.Name}.{property.Name} is {property.PropertyType.Name} (expected '{Expected(property.PropertyType)}')");
            var contractNullable = Nullability.Create(property).ReadState == NullabilityState.Nullable;
            if (contractNullable != nullable && !(isRequest && contractNullable))
            {
                Assert.Fail($"{name}.{field}: nullable in protocol.ts is {nullable}, in {contract.Name}.{property.Name} it is {contractNullable}");
            }
        }
    }

    [Theory]
    [InlineData(typeof(HubMethods))]
    [InlineData(typeof(HubEvents))]
    [InlineData(typeof(ChitChatRoutes))]
    public void The_TypeScript_constants_are_the_contracts_names(Type names)
    {
        var expected = names.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).ToDictionary(f => f.Name, f => (string)f.GetRawConstantValue()!, StringComparer.Ordinal);
        var match = ConstPattern().Matches(ReadProtocolText()).SingleOrDefault(m => m.Groups["name"].Value == names.Name);
        Assert.True(match is not null, $"protocol.ts has no 'export const {names.Name} = {{ ... }} as const;'");
        var actual = EntryPattern().Matches(match.Groups["body"].Value).ToDictionary(e => e.Groups["key"].Value, e => e.Groups["value"].Value, StringComparer.Ordinal);
        Assert.Equal(expected.OrderBy(e => e.Key, StringComparer.Ordinal), actual.OrderBy(e => e.Key, StringComparer.Ordinal));
    }

    private static string TypeScriptName(Type type) => type.Name switch
    {
        nameof(ChatProblem) => "ProblemDetails",
        var n when n.EndsWith("Dto", StringComparison.Ordinal) => n[..^3],
        var n => n,
    };

    private static string Expected(Type type)
    {
        type = System.Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string) || type == typeof(Guid) || type == typeof(DateTime) || type == typeof(DateTimeOffset))
        {
            return "string";
        }

        if (type == typeof(int) || type == typeof(long) || type == typeof(double))
        {
            return "number";
        }

        if (type == typeof(bool))
        {
            return "boolean";
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
        {
            return Expected(type.GetGenericArguments()[0]) + "[]";
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>))
        {
            var args = type.GetGenericArguments();
            return $"Record<{Expected(args[0])}, {Expected(args[1].GetElementType() ?? args[1])}{(args[1].IsArray ? "[]" : "")}>";
        }

        if (type.IsArray)
        {
            return Expected(type.GetElementType()!) + "[]";
        }

        return TypeScriptName(type);
    }

    private static (string Type, bool Nullable) Parse(string declaration)
    {
        // "name?: string | null" was split into the optional marker (kept in the key's value) and the type.
        var optional = declaration.StartsWith('?');
        var parts = declaration.TrimStart('?').Split('|', StringSplitOptions.TrimEntries);
        var nullable = optional || parts.Contains("null") || parts.Contains("undefined");
        return (string.Join(" | ", parts.Where(p => p is not "null" and not "undefined")), nullable);
    }

    private static string ReadProtocolText()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ChitChat.sln")))
        {
            dir = dir.Parent;
        }

        Assert.True(dir is not null, "the repository root (ChitChat.sln) was not found above the test's directory");
        return File.ReadAllText(Path.Combine(dir.FullName, "clients", "typescript", "src", "protocol.ts"));
    }

    private static IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> ReadProtocolTs()
    {
        var text = ReadProtocolText();
        var result = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        foreach (Match match in InterfacePattern().Matches(text))
        {
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match field in FieldPattern().Matches(match.Groups["body"].Value))
            {
                fields.Add(field.Groups["name"].Value, field.Groups["optional"].Value + field.Groups["type"].Value.Trim());
            }

            result.Add(match.Groups["name"].Value, fields);
        }

        Assert.NotEmpty(result);
        return result;
    }

    [GeneratedRegex(@"^export interface (?<name>\w+) \{(?<body>[^}]*)\}", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex InterfacePattern();

    [GeneratedRegex(@"^export const (?<name>\w+) = \{(?<body>[^}]*)\} as const;", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex ConstPattern();

    [GeneratedRegex(@"^\s*(?<key>\w+):\s*'(?<value>[^']*)',", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex EntryPattern();

    [GeneratedRegex(@"^\s*(?<name>\w+)(?<optional>\??):\s*(?<type>[^;]+);", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex FieldPattern();
}
