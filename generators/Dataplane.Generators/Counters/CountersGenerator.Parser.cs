using System.Collections.Generic;
using System.Collections.Immutable;
using System.Text;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Dataplane.Generators.Counters;

public sealed partial class CountersGenerator
{
    /// <summary>Turns a <c>[Counters]</c> enum into a <see cref="GroupModel"/>.</summary>
    internal static class Parser
    {
        public static ParseResult Parse(GeneratorAttributeSyntaxContext ctx, CancellationToken ct)
        {
            var type = (INamedTypeSymbol)ctx.TargetSymbol;
            var syntax = (EnumDeclarationSyntax)ctx.TargetNode;
            var diagnostics = ImmutableArray.CreateBuilder<DiagnosticInfo>();
            LocationInfo? location = LocationInfo.From(syntax.Identifier.GetLocation());
            AttributeData attribute = ctx.Attributes[0];
            string heading = attribute.ConstructorArguments.Length > 0 && attribute.ConstructorArguments[0].Value is string h ? h : "";
            int order = attribute.ConstructorArguments.Length > 1 && attribute.ConstructorArguments[1].Value is int o ? o : 0;
            string ns = type.ContainingNamespace.IsGlobalNamespace ? "" : type.ContainingNamespace.ToDisplayString();

            // A shape the emitted storage cannot index or name is not emitted; a missing text or a
            // bad heading is, so that the build's one error is that, not every call site.
            bool emittable = true;
            if (type.ContainingType is not null)
            {
                diagnostics.Add(Diag("DPC002", location, type.Name, $"it is nested in '{type.ContainingType.Name}', and a group is declared at namespace level"));
                emittable = false;
            }
            if (type.Name.Length <= EnumSuffix.Length || !type.Name.EndsWith(EnumSuffix, System.StringComparison.Ordinal))
            {
                diagnostics.Add(Diag("DPC002", location, type.Name, "its name must be the protocol followed by 'Counter' (IpCounter), which names the group and its array"));
                emittable = false;
            }
            if (!IsHeading(heading))
                diagnostics.Add(Diag("DPC003", location, heading, type.Name));

            var counters = ImmutableArray.CreateBuilder<CounterModel>();
            var keys = new Dictionary<string, string>();
            foreach (EnumMemberDeclarationSyntax member in syntax.Members)
            {
                ct.ThrowIfCancellationRequested();
                if (ctx.SemanticModel.GetDeclaredSymbol(member, ct) is not IFieldSymbol field)
                    continue;
                LocationInfo? memberLocation = LocationInfo.From(member.Identifier.GetLocation());
                int index = counters.Count;
                long? value = Value(field);
                if (value != index)
                {
                    diagnostics.Add(Diag("DPC002", memberLocation, type.Name,
                        $"'{field.Name}' is {value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "not a constant"}, not {index}: a counter's value is its place in the group's array, so the members count up from 0 without gaps"));
                    emittable = false;
                }

                (string? text, bool error) = Declared(field);
                if (string.IsNullOrWhiteSpace(text))
                {
                    diagnostics.Add(Diag("DPC001", memberLocation, type.Name, field.Name));
                    text = "";
                }

                string key = Snake(field.Name);
                if (keys.TryGetValue(key, out string? other))
                    diagnostics.Add(Diag("DPC006", memberLocation, type.Name, other, field.Name, key));
                else
                    keys.Add(key, field.Name);
                counters.Add(new CounterModel(field.Name, text!, key, error));
            }

            var declaration = new GroupDeclaration(ns, type.Name, heading, order, location);
            GroupModel? model = emittable ? new GroupModel(ns, type.Name, heading, order, counters.ToImmutable()) : null;
            return new ParseResult(model, declaration, diagnostics.ToImmutable());
        }

        /// <summary>The text and error flag of the member's <c>[Counter]</c>; a null text when it has none.</summary>
        private static (string? Text, bool Error) Declared(IFieldSymbol field)
        {
            foreach (AttributeData a in field.GetAttributes())
            {
                if (a.AttributeClass?.ToDisplayString() != CounterAttribute)
                    continue;
                string? text = a.ConstructorArguments.Length > 0 ? a.ConstructorArguments[0].Value as string : null;
                bool error = false;
                foreach (KeyValuePair<string, TypedConstant> arg in a.NamedArguments)
                {
                    if (arg.Key == "Error" && arg.Value.Value is bool b)
                        error = b;
                }
                return (text, error);
            }
            return (null, false);
        }

        private static long? Value(IFieldSymbol field) => field.HasConstantValue
            ? field.ConstantValue switch
            {
                ulong u => u <= long.MaxValue ? (long)u : null,
                object v => System.Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture),
                null => null,
            }
            : null;

        /// <summary>A protocol as netstat names it: lower-case letters and digits, a letter first (ip, icmp6).</summary>
        private static bool IsHeading(string heading)
        {
            if (heading.Length == 0 || heading[0] is < 'a' or > 'z')
                return false;
            foreach (char c in heading)
            {
                if (c is not (>= 'a' and <= 'z') and not (>= '0' and <= '9'))
                    return false;
            }
            return true;
        }

        /// <summary>The JSON key of a member: an underscore before each upper-case letter but the first, all lower case (ZeroChecksum6 → zero_checksum6).</summary>
        internal static string Snake(string name)
        {
            var key = new StringBuilder();
            foreach (char c in name)
            {
                if (char.IsUpper(c) && key.Length > 0)
                    key.Append('_');
                key.Append(char.ToLowerInvariant(c));
            }
            return key.ToString();
        }

        private static DiagnosticInfo Diag(string id, LocationInfo? location, params string[] args)
            => new(id, location, ImmutableArray.Create(args));
    }
}
