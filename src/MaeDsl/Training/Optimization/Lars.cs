// Lars: the official util/lars.py optimizer of the linear probe (TorchSharp has none).
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MaeDsl.Training.Optimization;

/// <summary>
/// LARS (layer-wise adaptive rate scaling) as the official <c>util/lars.py</c> (from MoCo v3), which the MAE
/// linear probe uses. TorchSharp 0.107 has no LARS. For every parameter with a gradient:
/// <code>
///   if p.ndim > 1:                       # not a bias or a normalisation weight
///       d = grad + weight_decay · p
///       q = trust_coefficient · ‖p‖ / ‖d‖  (1 when ‖p‖ = 0 or ‖d‖ = 0)
///       d = q · d
///   else: d = grad                       # no weight decay, no trust scaling
///   mu = momentum · mu + d               (mu starts at 0)
///   p  = p − lr · mu
/// </code>
/// </summary>
internal sealed class Lars : OptimizerHelper
{
    /// <summary>Creates LARS over <paramref name="parameters"/> (lr 0, weight decay 0, momentum 0.9, trust 0.001 as util/lars.py).</summary>
    public Lars(IEnumerable<Parameter> parameters, double lr = 0, double weightDecay = 0, double momentum = 0.9, double trustCoefficient = 0.001)
        : this(new[] { new ParamGroup(parameters) }, lr, weightDecay, momentum, trustCoefficient)
    {
    }

    /// <summary>Creates LARS over parameter groups; options a group leaves unset come from the arguments.</summary>
    public Lars(IEnumerable<ParamGroup> groups, double lr = 0, double weightDecay = 0, double momentum = 0.9, double trustCoefficient = 0.001)
    {
        if (lr < 0) throw new ArgumentOutOfRangeException(nameof(lr), lr, "Lars: learning rate must be ≥ 0.");
        if (weightDecay < 0) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "Lars: weight decay must be ≥ 0.");
        if (momentum < 0) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "Lars: momentum must be ≥ 0.");
        if (trustCoefficient <= 0) throw new ArgumentOutOfRangeException(nameof(trustCoefficient), trustCoefficient, "Lars: trust coefficient must be > 0.");
        _defaults = new Options { LearningRate = lr, InitialLearningRate = lr, weight_decay = weightDecay, momentum = momentum,
            trust_coefficient = trustCoefficient };
        _parameter_groups = new List<TorchSharp.Modules.ParamGroup>();
        foreach (var g in groups) add_param_group(g);
    }

    /// <inheritdoc />
    public override Tensor step(Func<Tensor>? closure = null)
    {
        return _step<ParamGroup>(group =>
        {
            var o = group.Options;
            double lr = o.LearningRate!.Value, wd = o.weight_decay!.Value, momentum = o.momentum!.Value, trust = o.trust_coefficient!.Value;
            foreach (var p in group.Parameters)
            {
                var grad = p.grad;
                if (grad is null) continue;
                Tensor dp = grad;
                if (p.dim() > 1)
                {
                    dp = dp.add(p, alpha: wd);
                    var paramNorm = p.norm();
                    var updateNorm = dp.norm();
                    // trust·‖p‖/‖d‖, 1 unless both norms are > 0 (min > 0; a NaN norm gives 1 as well): util/lars.py's nested torch.where
                    // as a masked fill, the same selection on the norms' device, with ops that libtorch's meta device runs
                    var q = (trust * paramNorm / updateNorm).masked_fill_(paramNorm.minimum(updateNorm).gt(0).eq(false), 1.0);
                    dp = dp.mul(q);
                }
                var state = (State)_state[p.Handle];
                state.mu ??= torch.zeros_like(p).DetachFromDisposeScope();
                state.mu.mul_(momentum).add_(dp);
                p.add_(state.mu, alpha: -lr);
            }
        }, closure);
    }

    /// <inheritdoc />
    public override void add_param_group(TorchSharp.Modules.ParamGroup paramGroup)
    {
        var def = (Options)_defaults;
        paramGroup.Options ??= new Options();
        var opt = paramGroup.Options as Options
            ?? throw new ArgumentException($"Lars.add_param_group: the group's options are {paramGroup.Options.GetType().Name}, expected Lars.Options.",
                nameof(paramGroup));
        opt.LearningRate ??= def.LearningRate;
        opt.weight_decay ??= def.weight_decay;
        opt.momentum ??= def.momentum;
        opt.trust_coefficient ??= def.trust_coefficient;
        opt.InitialLearningRate = opt.LearningRate!.Value;
        _parameter_groups.Add(paramGroup);
        foreach (var p in paramGroup.Parameters) _state[p.Handle] = new State(p);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        foreach (var st in _state.Values) ((State)st).mu?.Dispose();
        _state.Clear();
    }

    /// <summary>The momentum buffer of one parameter (<c>mu</c> in util/lars.py); null before the first step.</summary>
    public Tensor? MomentumBuffer(Parameter p) => _state.ContainsKey(p.Handle) ? ((State)_state[p.Handle]).mu : null;

    /// <summary>LARS hyper-parameters of one group.</summary>
    public sealed class Options : OptimizerOptions
    {
        public double? weight_decay;
        public double? momentum;
        public double? trust_coefficient;

        public override void SaveStateDict(BinaryWriter writer)
        {
            base.SaveStateDict(writer);
            writer.Write(weight_decay!.Value);
            writer.Write(momentum!.Value);
            writer.Write(trust_coefficient!.Value);
        }

        public override void LoadStateDict(BinaryReader reader)
        {
            base.LoadStateDict(reader);
            weight_decay = reader.ReadDouble();
            momentum = reader.ReadDouble();
            trust_coefficient = reader.ReadDouble();
        }

        public override void LoadStateDict(OptimizerOptions source)
        {
            base.LoadStateDict(source);
            var s = (Options)source;
            weight_decay = s.weight_decay;
            momentum = s.momentum;
            trust_coefficient = s.trust_coefficient;
        }
    }

    /// <summary>A LARS parameter group.</summary>
    public sealed class ParamGroup : ParamGroup<Options>
    {
        public ParamGroup() { }
        public ParamGroup(IEnumerable<Parameter> parameters, Options? options = null) : base(parameters, options!) { }
    }

    /// <summary>Per-parameter state: the momentum buffer.</summary>
    public sealed class State : OptimizerState, IDisposable
    {
        public Tensor? mu;

        public State(Parameter parameter) : base(parameter) { }

        public void Dispose() => mu?.Dispose();

        /// <summary>LARS starts without a momentum buffer; the first step creates it as zeros.</summary>
        public override void Initialize(OptimizerOptions options)
        {
            mu?.Dispose();
            mu = null;
        }

        public override void to(Device device)
        {
            if (mu is not null) mu = mu.to(device).DetachFromDisposeScope();
        }

        public override void SaveStateDict(BinaryWriter writer) => SaveConditionalStateTensor(writer, mu!);

        public override void LoadStateDict(BinaryReader reader)
        {
            var t = mu!;
            LoadConditionalStateTensor(reader, ref t, _parameter.device);
            mu = t;
        }

        public override void LoadStateDict(OptimizerState source)
        {
            var s = (State)source;
            mu?.Dispose();
            mu = s.mu?.clone().DetachFromDisposeScope();
        }

        public override bool ApproximatelyEquals(OptimizerState other) =>
            other is State s && (mu is null ? s.mu is null : s.mu is not null && mu.allclose(s.mu));
    }
}
