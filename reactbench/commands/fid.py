"""``reactbench fid``: image FID between two folders of frames through pytorch-fid (optional)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "fid",
        help="image FID between two frame folders through pytorch-fid (optional extra)",
        description="Image FID (the official FRRea) between REAL_DIR and FAKE_DIR through "
        "pytorch-fid's InceptionV3. Needs pip install 'reactbench[fid]' (pytorch-fid and "
        "torchvision) and the Inception weights file pt_inception-2015-12-05-6726825d.pth "
        "(torch hub's checkpoints folder, or --weights PATH); nothing is downloaded. "
        "reactbench's own FRRea is FRRea-feat, computed by 'reactbench score'.",
    )
    p.add_argument("real_dir", metavar="REAL_DIR", help="folder of real frames (png, jpg, ...)")
    p.add_argument("fake_dir", metavar="FAKE_DIR", help="folder of generated/rendered frames")
    p.add_argument("--batch-size", type=int, default=50, help="images per batch (default 50)")
    p.add_argument("--dims", type=int, default=2048,
                   help="Inception feature dimension: 64, 192, 768 or 2048 (default, official)")
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    p.add_argument("--weights", default=None, metavar="PATH",
                   help="path of pt_inception-2015-12-05-6726825d.pth (default: torch hub cache)")
    p.add_argument("--num-workers", type=int, default=0, help="data-loader workers (default 0)")
    p.set_defaults(func=main)


def main(args) -> int:
    # imported on use, so that `reactbench --help` stays instant
    from reactbench.metrics.fid import image_fid

    value = image_fid(args.real_dir, args.fake_dir, batch_size=args.batch_size, dims=args.dims,
                      device=args.device, weights=args.weights, num_workers=args.num_workers)
    print(f"FID ({args.dims}-d Inception features): {value:.4f}")
    return 0
