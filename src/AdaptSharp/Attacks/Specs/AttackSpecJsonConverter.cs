using System.Text.Json;
using System.Text.Json.Serialization;

namespace AdaptSharp.Attacks;

/// <summary>
/// An <see cref="AttackSpec"/> in JSON is its canonical name ("pgd10", "autoattack:square"): report.json keeps the
/// names it always had, and reading a report is the one place after the CLI where a name becomes a spec again.
/// </summary>
internal sealed class AttackSpecJsonConverter : JsonConverter<AttackSpec>
{
    public override AttackSpec Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var name = reader.GetString() ?? throw new JsonException("an attack name is null");
        try
        {
            return AttackSpec.Parse(name);
        }
        catch (ArgumentException e)
        {
            throw new JsonException(e.Message, e);
        }
    }

    public override void Write(Utf8JsonWriter writer, AttackSpec value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
}
