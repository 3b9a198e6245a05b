#!/usr/bin/env python3
"""Export RAM (Recognize Anything, ram_swin_large_14m.pth) to the ONNX format iapas reads.

    input   image   float32 [b, 3, 384, 384]   RGB, /255, ImageNet mean/std
    output  logits  float32 [b, 4585]          tagging-head logits (iapas applies sigmoid and the
                                               per-tag thresholds of ram_tag_list_threshold.txt)

Needs PyTorch and the recognize-anything package (pip install git+https://github.com/xinyu1205/recognize-anything)
and the checkpoint from https://huggingface.co/xinyu1205/recognize_anything_model/resolve/main/ram_swin_large_14m.pth
Not run on the machines iapas is built on (no PyTorch, no weights there): check the printed tags
against `ram.inference_ram` on one image before relying on the export.

    python tools/export-ram-onnx.py --checkpoint ram_swin_large_14m.pth \
        --out models/ram-swin-large-14m/ram_swin_large_14m.onnx
"""
import argparse

import torch
from ram.models import ram


class RamLogits(torch.nn.Module):
    """The tagging branch of RAM.generate_tag, stopped before the sigmoid/threshold step."""

    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, image):
        m = self.m
        label_embed = torch.nn.functional.relu(m.wordvec_proj(m.label_embed))
        image_embeds = m.image_proj(m.visual_encoder(image))
        image_atts = torch.ones(image_embeds.size()[:-1], dtype=torch.long, device=image.device)
        label_embed = label_embed.unsqueeze(0).repeat(image_embeds.shape[0], 1, 1)
        tagging_embed = m.tagging_head(
            encoder_embeds=label_embed,
            encoder_hidden_states=image_embeds,
            encoder_attention_mask=image_atts,
            return_dict=False,
            mode='tagging',
        )
        return m.fc(tagging_embed[0]).squeeze(-1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--checkpoint', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--opset', type=int, default=17)
    args = ap.parse_args()

    model = ram(pretrained=args.checkpoint, image_size=384, vit='swin_l').eval()
    wrapper = RamLogits(model).eval()
    dummy = torch.randn(1, 3, 384, 384)
    with torch.no_grad():
        ref = wrapper(dummy)
        assert ref.shape == (1, 4585), ref.shape
        torch.onnx.export(
            wrapper, (dummy,), args.out,
            input_names=['image'], output_names=['logits'],
            dynamic_axes={'image': {0: 'batch_size'}, 'logits': {0: 'batch_size'}},
            opset_version=args.opset, do_constant_folding=True,
        )
    try:
        import numpy as np
        import onnxruntime as ort
        got = ort.InferenceSession(args.out).run(['logits'], {'image': dummy.numpy()})[0]
        print('max |onnx - torch| =', float(np.abs(got - ref.numpy()).max()))
    except ImportError:
        print('onnxruntime not installed: skipped the comparison')
    print('wrote', args.out)


if __name__ == '__main__':
    main()
