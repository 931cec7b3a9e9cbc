namespace AdaptSharp.Checkpoints;

/// <summary>What a loaded model is for; decides which adaptations of a checkpoint are acceptable.</summary>
public enum ModelUse
{
    /// <summary>predict / eval: the checkpoint's own head (or a prompt file's) must be used as is; nothing may be random.</summary>
    Inference,

    /// <summary>tune / pretrain: a missing or differently sized head may be re-initialised (that is fine-tuning).</summary>
    Training,

    /// <summary>info: any adaptation is allowed; it is reported.</summary>
    Inspection,
}
