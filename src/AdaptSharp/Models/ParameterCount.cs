namespace AdaptSharp.Models;

public sealed record ParameterCount(long Total, long Trainable, long Prompts)
{
    public double TrainablePercent => Total == 0 ? 0 : 100.0 * Trainable / Total;
}
