using AdaptSharp.Models;
using static TorchSharp.torch;

// A ViT-B/16 with deep prompts as in the paper: prompts + head + patch embedding are the trainable set.
var config = ModelPresets.Get("vit-base-patch16", numClasses: 10, imageSize: 32);
using var model = new VisionTransformer(config, PromptConfig.Parse("deep:25"));
model.SetTrainable(TrainableSets.Parse("head,patch"));
var count = model.CountParameters();
Console.WriteLine($"trainable: {count.Trainable:N0} of {count.Total:N0}");

// The first torch call loads libLibTorchSharp.so: it fails on Debian 12 unless the package's build fix ran.
model.eval();
using var logits = model.forward(zeros(2, 3, 32, 32));
Console.WriteLine($"logits: [{string.Join(", ", logits.shape)}], finite: {logits.isfinite().all().item<bool>()}");
