"""Diagnose the stored learned baselines on vox1-s2f (issue 24): does the face depend on the voice, is the voice
encoder collapsed, does it carry gender, and can the decoder draw gender even from the true judge feature (its ceiling).

    PYTHONPATH=. python benchmarks/s2f_diagnose.py speech2face ar-spm wen-gan

Prints measurements only; caches the training data in /tmp/learn/traindata.pt (20 min to build on a loaded 2-core box).
"""
import sys, time, numpy as np, torch, torch.nn.functional as F
from pathlib import Path
from benchmark.data.datasets import load_dataset
from baselines.train_data import load_train_data
from baselines.train import build_recipe, load_checkpoint
from baselines.voice import VoiceFrontEnd
from baselines.nets import to_uint8, to_unit_range
from benchmark.data.audio import load_audio
from benchmark.data.images import load_image, is_blank, square_resize, to_chw_tensor
t0=time.time()
man = load_dataset("vox1-s2f")
cache = Path("/tmp/learn/traindata.pt"); cache.parent.mkdir(parents=True, exist_ok=True)
if cache.exists():
    data = torch.load(cache, weights_only=False)
else:
    data = load_train_data(man, None, 64, {"judge", "speaker"}, progress=False)
    torch.save(data, cache)
g = data.gender_index()
print(f"train: {data.n_identities} ids ({int(g.sum())} f), {len(data.utt_ids)} utts, {len(data.face_ids)} faces, "
      f"frames/utt median {np.median([f.shape[1] for f in data.feats]):.0f}; load {time.time()-t0:.0f}s", flush=True)
test_ids = [i for i in man.identities if i.split in ("validation", "test")]
gender = {i.id: i.gender for i in test_ids}
utts = [u for i in test_ids for u in man.utterances_of(i.id)]
faces = [f for i in test_ids for f in man.faces_of(i.id)]
print(f"eval: {len(test_ids)} ids, {len(utts)} utts, {len(faces)} faces", flush=True)
front = VoiceFrontEnd()
feats = []
for u in utts:
    w = torch.from_numpy(load_audio(u.path)); f, n = front(w[None], torch.tensor([len(w)])); feats.append((f, n))
from baselines.speaker import SpeakerEncoder, embed_files
spk_test = torch.from_numpy(embed_files(SpeakerEncoder(), [u.path for u in utts]))
ug = np.array([gender[u.identity] == "f" for u in utts])
real = [load_image(f.path) for f in faces]; keep = [not is_blank(im) for im in real]
real_faces = [f for f, k in zip(faces, keep) if k]; real = [im for im, k in zip(real, keep) if k]
real64 = to_unit_range(to_chw_tensor([square_resize(im, 64) for im in real]))
fg = np.array([gender[f.identity] == "f" for f in real_faces])
from benchmark.judges.attributes import AttributePredictor
ap = AttributePredictor(None)
def male_rate(imgs):  # uint8 [B,3,S,S]
    p = ap.predict([im.permute(1, 2, 0).numpy() for im in imgs]); return p[:, 0], p[:, 3]
def pixstd(x): return float(x.float().std(0).mean())
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score, GroupKFold
def probe(X, y, groups):
    return cross_val_score(LogisticRegression(C=1.0, max_iter=3000), X, y, cv=GroupKFold(5), groups=groups).mean()
ytr = g[data.utt_label].numpy(); grp = data.utt_label.numpy()
print(f"probe resemblyzer->gender (train, 5-fold by identity): {probe(data.speaker.numpy(), ytr, grp):.3f}", flush=True)
print(f"real test faces pixel std across faces: {pixstd(real64):.3f}", flush=True)
for name in sys.argv[1:]:
    ck = load_checkpoint(f"leaderboards/checkpoints/vox1-s2f/{name}.pt")
    rec = build_recipe(name, ck["config"], ck["info"]); rec.load_state({"modules": ck["modules"]}, "cpu"); rec.eval()
    with torch.no_grad():
        imgs = torch.cat([to_uint8(rec.infer(f, n, None, None) if name != "ar-spm" else
                          rec.modules["decoder"](F.normalize(rec.fused(f, n, spk_test[i:i+1]), dim=1)))
                          for i, (f, n) in enumerate(feats)])
    male, det = male_rate(imgs)
    x = to_unit_range(imgs)
    print(f"[{name}] gen pixel std across voices {pixstd(x):.3f}; mean |male-voice avg - female-voice avg| "
          f"{float((x[~ug].mean(0)-x[ug].mean(0)).abs().mean()):.3f}; detected {det.mean():.2f}; "
          f"P(judged male | male voice) {male[~ug].mean():.2f}, P(judged male | female voice) {male[ug].mean():.2f}", flush=True)
    # voice-side embedding: spread and gender probe
    if name in ("speech2face", "ar-spm"):
        enc = rec.modules["encoder" if name == "speech2face" else "speech"]
        with torch.no_grad():
            e_test = torch.cat([enc(f, n) for f, n in feats])
            e_tr = torch.cat([enc(f[None], None) for f in data.feats])
        u = F.normalize(e_test, dim=1)
        off = (u @ u.T)[~torch.eye(len(u), dtype=bool)].mean()
        print(f"[{name}] voice encoder output: mean pairwise cos across test voices {off:.3f}; per-dim std {float(e_test.std(0).mean()):.4f} "
              f"vs mean |value| {float(e_test.abs().mean()):.4f}; gender probe on train outputs {probe(e_tr.numpy(), ytr, grp):.3f}", flush=True)
    if name == "speech2face":
        from benchmark.judges import DEFAULT_JUDGE, make_judge
        j = make_judge(DEFAULT_JUDGE); emb = torch.from_numpy(j.embed(real).vectors); j.close()
        uj = F.normalize(emb, dim=1); off = (uj @ uj.T)[~torch.eye(len(uj), dtype=bool)].mean()
        print(f"[judge] real test faces: mean pairwise cos of judge features {off:.3f}", flush=True)
        with torch.no_grad():
            dec = to_uint8(rec.modules["decoder"](uj))
        male, det = male_rate(dec)
        print(f"[{name}] DECODER CEILING (true judge features of test faces -> decoder): detected {det.mean():.2f}, "
              f"gender consistency {np.mean((male > 0.5) == ~fg):.3f}, pixel std {pixstd(to_unit_range(dec)):.3f}", flush=True)
        torch.save({"dec": dec[:16], "gen": imgs[:16]}, cache.parent / "s2f_imgs.pt")
        # centroid regression probe: can resemblyzer predict the judge-feature centroid?
        from sklearn.linear_model import Ridge
        tgt = F.normalize(torch.zeros(data.n_identities, 128).index_add_(0, data.face_label, F.normalize(data.judge, dim=1)), dim=1)
        r = Ridge(alpha=1.0).fit(data.speaker.numpy(), tgt[data.utt_label].numpy())
        pred = F.normalize(torch.from_numpy(r.predict(spk_test.numpy())).float(), dim=1)
        with torch.no_grad():
            dec2 = to_uint8(rec.modules["decoder"](pred))
        male, det = male_rate(dec2)
        print(f"[{name}] resemblyzer -> ridge -> stored decoder: detected {det.mean():.2f}, "
              f"gender consistency {np.mean((male > 0.5) == ~ug):.3f}", flush=True)
print(f"done {time.time()-t0:.0f}s")
