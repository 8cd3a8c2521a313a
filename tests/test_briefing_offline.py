"""Tests of the offline briefing writer and the renderers, on real arXiv listings of 2025-03-20."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from markdown_it import MarkdownIt

from hub_pipeline.lib.briefing import to_json, to_markdown, write_offline
from hub_pipeline.lib.models import BriefingPaper, RadarInfo

DAY = date(2025, 3, 20)
CJK = re.compile(r"[\u4e00-\u9fff]")

# Copied from the arXiv RSS payloads of 2025-03-20 (cs.CV, cs.AI, cs.CL feeds):
# (paper id, title, categories, abstract without the "arXiv:... Announce Type" prefix).
REAL_ITEMS = [
    (
        'arxiv:2503.14558',
        'SuperPC: A Single Diffusion Model for Point Cloud Completion, Upsampling, Denoising, and Colorization',
        ['cs.CV', 'cs.RO'],
        'Point cloud (PC) processing tasks-such as completion, upsampling, denoising, and colorization-are crucial in applications like autonomous driving and 3D reconstruction. Despite substantial advancements, prior approaches often address each of these tasks independently, with separate models focused on individual issues. However, this isolated approach fails to account for the fact that defects like incompleteness, low resolution, noise, and lack of color frequently coexist, with each defect influencing and correlating with the others. Simply applying these models sequentially can lead to error accumulation from each model, along with increased computational costs. To address these challenges, we introduce SuperPC, the first unified diffusion model capable of concurrently handling all four tasks. Our approach employs a three-level-conditioned diffusion framework, enhanced by a novel spatial-mix-fusion strategy, to leverage the correlations among these four defects for simultaneous, efficient processing. We show that SuperPC outperforms the state-of-the-art specialized models as well as their combination on all four individual tasks.',
    ),
    (
        'arxiv:2503.14654',
        'A Simple Combination of Diffusion Models for Better Quality Trade-Offs in Image Denoising',
        ['cs.CV'],
        "Diffusion models have garnered considerable interest in computer vision, owing both to their capacity to synthesize photorealistic images and to their proven effectiveness in image reconstruction tasks. However, existing approaches fail to efficiently balance the high visual quality of diffusion models with the low distortion achieved by previous image reconstruction methods. Specifically, for the fundamental task of additive Gaussian noise removal, we first illustrate an intuitive method for leveraging pretrained diffusion models. Further, we introduce our proposed Linear Combination Diffusion Denoiser (LCDD), which unifies two complementary inference procedures - one that leverages the model's generative potential and another that ensures faithful signal recovery. By exploiting the inherent structure of the denoising samples, LCDD achieves state-of-the-art performance and offers controlled, well-behaved trade-offs through a simple scalar hyperparameter adjustment.",
    ),
    (
        'arxiv:2503.14863',
        'Temporal-Consistent Video Restoration with Pre-trained Diffusion Models',
        ['cs.CV'],
        'Video restoration (VR) aims to recover high-quality videos from degraded ones. Although recent zero-shot VR methods using pre-trained diffusion models (DMs) show good promise, they suffer from approximation errors during reverse diffusion and insufficient temporal consistency. Moreover, dealing with 3D video data, VR is inherently computationally intensive. In this paper, we advocate viewing the reverse process in DMs as a function and present a novel Maximum a Posterior (MAP) framework that directly parameterizes video frames in the seed space of DMs, eliminating approximation errors. We also introduce strategies to promote bilevel temporal consistency: semantic consistency by leveraging clustering structures in the seed space, and pixel-level consistency by progressive warping with optical flow refinements. Extensive experiments on multiple virtual reality tasks demonstrate superior visual quality and temporal consistency achieved by our method compared to the state-of-the-art.',
    ),
    (
        'arxiv:2503.15465',
        'FP4DiT: Towards Effective Floating Point Quantization for Diffusion Transformers',
        ['cs.CV'],
        "Diffusion Models (DM) have revolutionized the text-to-image visual generation process. However, the large computational cost and model footprint of DMs hinders practical deployment, especially on edge devices. Post-training quantization (PTQ) is a lightweight method to alleviate these burdens without the need for training or fine-tuning. While recent DM PTQ methods achieve W4A8 on integer-based PTQ, two key limitations remain: First, while most existing DM PTQ methods evaluate on classical DMs like Stable Diffusion XL, 1.5 or earlier, which use convolutional U-Nets, newer Diffusion Transformer (DiT) models like the PixArt series, Hunyuan and others adopt fundamentally different transformer backbones to achieve superior image synthesis. Second, integer (INT) quantization is prevailing in DM PTQ but doesn't align well with the network weight and activation distribution, while Floating-Point Quantization (FPQ) is still under-investigated, yet it holds the potential to better align the weight and activation distributions in low-bit settings for DiT. In response, we introduce FP4DiT, a PTQ method that leverages FPQ to achieve W4A6 quantization. Specifically, we extend and generalize the Adaptive Rounding PTQ technique to adequately calibrate weight quantization for FPQ and demonstrate that DiT activations depend on input patch data, necessitating robust online activation quantization techniques. Experimental results demonstrate that FP4DiT outperforms integer-based PTQ at W4A6 and W4A8 precision and generates convincing visual content on PixArt-$\\alpha$, PixArt-$\\Sigma$ and Hunyuan in terms of several T2I metrics such as HPSv2 and CLIP.",
    ),
    (
        'arxiv:2503.15457',
        'Di$\\mathtt{[M]}$O: Distilling Masked Diffusion Models into One-step Generator',
        ['cs.CV', 'cs.AI', 'cs.LG'],
        "Masked Diffusion Models (MDMs) have emerged as a powerful generative modeling technique. Despite their remarkable results, they typically suffer from slow inference with several steps. In this paper, we propose Di$\\mathtt{[M]}$O, a novel approach that distills masked diffusion models into a one-step generator. Di$\\mathtt{[M]}$O addresses two key challenges: (1) the intractability of using intermediate-step information for one-step generation, which we solve through token-level distribution matching that optimizes model output logits by an 'on-policy framework' with the help of an auxiliary model; and (2) the lack of entropy in the initial distribution, which we address through a token initialization strategy that injects randomness while maintaining similarity to teacher training distribution. We show Di$\\mathtt{[M]}$O's effectiveness on both class-conditional and text-conditional image generation, impressively achieving performance competitive to multi-step teacher outputs while drastically reducing inference time. To our knowledge, we are the first to successfully achieve one-step distillation of masked diffusion models and the first to apply discrete distillation to text-to-image generation, opening new paths for efficient generative modeling.",
    ),
    (
        'arxiv:2503.14917',
        'MASS: Mathematical Data Selection via Skill Graphs for Pretraining Large Language Models',
        ['cs.CL', 'cs.AI'],
        'High-quality data plays a critical role in the pretraining and fine-tuning of large language models (LLMs), even determining their performance ceiling to some degree. Consequently, numerous data selection methods have been proposed to identify subsets of data that can effectively and efficiently enhance model performance. However, most of these methods focus on general data selection and tend to overlook the specific nuances of domain-related data. In this paper, we introduce MASS, a \\textbf{MA}thematical data \\textbf{S}election framework using the \\textbf{S}kill graph for pretraining LLMs in the mathematical reasoning domain. By taking into account the unique characteristics of mathematics and reasoning, we construct a skill graph that captures the mathematical skills and their interrelations from a reference dataset. This skill graph guides us in assigning quality scores to the target dataset, enabling us to select the top-ranked subset which is further used to pretrain LLMs. Experimental results demonstrate the efficiency and effectiveness of MASS across different model sizes (1B and 7B) and pretraining datasets (web data and synthetic data). Specifically, in terms of efficiency, models trained on subsets selected by MASS can achieve similar performance to models trained on the original datasets, with a significant reduction in the number of trained tokens - ranging from 50\\% to 70\\% fewer tokens. In terms of effectiveness, when trained on the same amount of tokens, models trained on the data selected by MASS outperform those trained on the original datasets by 3.3\\% to 5.9\\%. These results underscore the potential of MASS to improve both the efficiency and effectiveness of pretraining LLMs.',
    ),
    (
        'arxiv:2503.14749',
        'Uncertainty Distillation: Teaching Language Models to Express Semantic Confidence',
        ['cs.CL', 'cs.LG'],
        "As large language models (LLMs) are increasingly used for factual question-answering, it becomes more important for LLMs to have the capability to communicate the likelihood that their answer is correct. For these verbalized expressions of uncertainty to be meaningful, they should reflect the error rates at the expressed level of confidence. However, when prompted to express confidence, the error rates of current LLMs are inconsistent with their communicated confidences, highlighting the need for uncertainty quantification methods. Many prior methods calculate lexical uncertainty, estimating a model's confidence in the specific string it generated. In some cases, however, it may be more useful to estimate semantic uncertainty, or the model's confidence in the answer regardless of how it is verbalized. We propose a simple procedure, uncertainty distillation, to teach an LLM to verbalize calibrated semantic confidences. Using held-out data to map initial uncertainty estimates to meaningful probabilities, we create examples annotated with verbalized probabilities for supervised fine-tuning. We demonstrate our method yields verbalized confidences that correlate with observed error rates with a small fine-tuned language model as well as with larger instruction-tuned models, and find that our semantic uncertainty correlates well with lexical uncertainty on short answers.",
    ),
    (
        'arxiv:2503.15176',
        'A Review on Large Language Models for Visual Analytics',
        ['cs.HC', 'cs.CL', 'cs.CV'],
        'This paper provides a comprehensive review of the integration of Large Language Models (LLMs) with visual analytics, addressing their foundational concepts, capabilities, and wide-ranging applications. It begins by outlining the theoretical underpinnings of visual analytics and the transformative potential of LLMs, specifically focusing on their roles in natural language understanding, natural language generation, dialogue systems, and text-to-media transformations. The review further investigates how the synergy between LLMs and visual analytics enhances data interpretation, visualization techniques, and interactive exploration capabilities. Key tools and platforms including LIDA, Chat2VIS, Julius AI, and Zoho Analytics, along with specialized multimodal models such as ChartLlama and CharXIV, are critically evaluated. The paper discusses their functionalities, strengths, and limitations in supporting data exploration, visualization enhancement, automated reporting, and insight extraction. The taxonomy of LLM tasks, ranging from natural language understanding (NLU), natural language generation (NLG), to dialogue systems and text-to-media transformations, is systematically explored. This review provides a SWOT analysis of integrating Large Language Models (LLMs) with visual analytics, highlighting strengths like accessibility and flexibility, weaknesses such as computational demands and biases, opportunities in multimodal integration and user collaboration, and threats including privacy concerns and skill degradation. It emphasizes addressing ethical considerations and methodological improvements for effective integration.',
    ),
    (
        'arxiv:2503.14521',
        'Policy Frameworks for Transparent Chain-of-Thought Reasoning in Large Language Models',
        ['cs.CY', 'cs.AI', 'cs.CL'],
        'Chain-of-Thought (CoT) reasoning enhances large language models (LLMs) by decomposing complex problems into step-by-step solutions, improving performance on reasoning tasks. However, current CoT disclosure policies vary widely across different models in frontend visibility, API access, and pricing strategies, lacking a unified policy framework. This paper analyzes the dual-edged implications of full CoT disclosure: while it empowers small-model distillation, fosters trust, and enables error diagnosis, it also risks violating intellectual property, enabling misuse, and incurring operational costs. We propose a tiered-access policy framework that balances transparency, accountability, and security by tailoring CoT availability to academic, business, and general users through ethical licensing, structured reasoning outputs, and cross-tier safeguards. By harmonizing accessibility with ethical and operational considerations, this framework aims to advance responsible AI deployment while mitigating risks of misuse or misinterpretation.',
    ),

]
DIFFUSION_IDS = ["arxiv:2503.14558", "arxiv:2503.14654", "arxiv:2503.14863", "arxiv:2503.15465", "arxiv:2503.15457"]
LLM_IDS = ["arxiv:2503.14917", "arxiv:2503.14749", "arxiv:2503.15176", "arxiv:2503.14521"]


def real_papers() -> list[BriefingPaper]:
    """The nine real papers as a "diffusion OR large language models" radar would rank them.

    As in the warehouse, ``categories`` is sorted, and each paper is shown with its listing as
    new in its primary category's feed (the first category of the RSS item).
    """
    papers = []
    for rank, (paper_id, title, categories, abstract) in enumerate(REAL_ITEMS, start=1):
        feed = categories[0]
        term = "diffusion" if paper_id in DIFFUSION_IDS else "large language models"
        field = "title" if term.split()[0] in title.lower() else "abstract"
        papers.append(
            BriefingPaper(
                paper_id=paper_id,
                title=title,
                abstract=abstract,
                authors=[],
                categories=sorted(categories),
                source_id=f"arxiv-{feed.lower().replace('.', '-')}",
                source_label=f"arXiv ({feed})",
                link=f"https://arxiv.org/abs/{paper_id.removeprefix('arxiv:')}",
                announced_day=DAY,
                score=round(10.0 - rank * 0.5, 2),
                rank=rank,
                reasons=[f'{field}: "{term}"'],
                feed_category=feed,
            )
        )
    return papers


def radar(language: str = "en") -> RadarInfo:
    return RadarInfo(radar_id="genai", name="Generative AI", language=language, query="diffusion OR large language models")


def synthetic_paper(index: int, score: float, **changes: object) -> BriefingPaper:
    paper = BriefingPaper(
        paper_id=f"arxiv:2599.{index:05d}",
        title=f"Synthetic paper number {index}",
        abstract=f"Synthetic abstract {index}. Second sentence.",
        authors=["A. Author"],
        categories=["cs.LG"],
        source_id="arxiv-cs-lg",
        source_label="arXiv (cs.LG)",
        link=None,
        announced_day=DAY,
        score=score,
        rank=index,
        reasons=['title: "synthetic"'],
        feed_category="cs.LG",
    )
    for name, value in changes.items():
        setattr(paper, name, value)
    return paper


def test_real_items_match_fixture(fixtures: Path):
    folder = fixtures / "arxiv_rss_days" / "2025-03-20"
    payload = "".join(path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.xml")))
    for paper_id, title, _, _ in REAL_ITEMS:
        assert f"<title>{title}</title>" in payload, paper_id
        assert f"https://arxiv.org/abs/{paper_id.removeprefix('arxiv:')}" in payload, paper_id


def test_headline_counts_papers_en():
    briefing = write_offline(radar("en"), DAY, real_papers())
    assert briefing.headline.startswith("9 papers matched the radar")
    assert "cs.CV (5)" in briefing.headline
    assert "cs.CL (2)" in briefing.headline


def test_headline_counts_papers_zh():
    briefing = write_offline(radar("zh-CN"), DAY, real_papers())
    assert briefing.headline.startswith("2025年3月20日有 9 篇论文与雷达「Generative AI」匹配")
    assert "cs.CV（5 篇）" in briefing.headline


def cross_listed_papers() -> list[BriefingPaper]:
    """Two cs.CL papers whose sorted categories start with cs.AI, a cs.AI paper and a journal article."""
    listings = [("cs.CL", ["cs.AI", "cs.CL"]), ("cs.CL", ["cs.AI", "cs.CL", "cs.CY"]), ("cs.AI", ["cs.AI"]), (None, [])]
    papers = []
    for index, (feed, categories) in enumerate(listings, start=1):
        label = f"arXiv ({feed})" if feed else "Nature"
        papers.append(synthetic_paper(index, 5.0 - index, categories=categories, feed_category=feed, source_label=label))
    return papers


def test_headline_counts_listing_category_en():
    briefing = write_offline(radar("en"), DAY, cross_listed_papers())
    assert briefing.headline == (
        "4 papers matched the radar \u201cGenerative AI\u201d on 2025-03-20, from cs.CL (2), Nature (1), cs.AI (1)."
    )


def test_headline_counts_listing_category_zh():
    briefing = write_offline(radar("zh-CN"), DAY, cross_listed_papers())
    assert briefing.headline == "2025年3月20日有 4 篇论文与雷达「Generative AI」匹配，来自 cs.CL（2 篇）、Nature（1 篇）、cs.AI（1 篇）。"


def test_offline_text_zh():
    briefing = write_offline(radar("zh-CN"), DAY, real_papers())
    assert CJK.search(briefing.headline)
    assert all(CJK.search(theme.text) for theme in briefing.themes)
    assert all("匹配原因：" in item.why for item in briefing.reading_list)


def test_offline_text_en():
    briefing = write_offline(radar("en"), DAY, real_papers())
    assert not CJK.search(briefing.headline)
    assert not any(CJK.search(theme.text + theme.title) for theme in briefing.themes)
    assert not any(CJK.search(item.why) for item in briefing.reading_list)


def test_record_fields():
    papers = real_papers()
    briefing = write_offline(radar("en"), DAY, papers)
    assert briefing.generator == "offline"
    assert briefing.model is None
    assert briefing.prompt_version == "offline-5"
    assert briefing.error is None
    assert briefing.input_ids == [paper.paper_id for paper in papers]
    assert briefing.removed_ids == []


def test_cited_ids_cover_citations():
    briefing = write_offline(radar("en"), DAY, real_papers())
    cited = {i for theme in briefing.themes for i in theme.paper_ids} | {i.paper_id for i in briefing.reading_list}
    assert set(briefing.cited_ids) == cited
    assert len(briefing.cited_ids) == len(set(briefing.cited_ids))


def test_themes_cite_input_ids():
    papers = real_papers()
    briefing = write_offline(radar("en"), DAY, papers)
    input_ids = {paper.paper_id for paper in papers}
    assert 1 <= len(briefing.themes) <= 4
    for theme in briefing.themes:
        assert len(theme.paper_ids) >= 2, theme.title
        assert set(theme.paper_ids) <= input_ids, theme.title


def test_themes_group_topics():
    briefing = write_offline(radar("en"), DAY, real_papers())
    groups = [sorted(theme.paper_ids) for theme in briefing.themes]
    assert sorted(DIFFUSION_IDS) in groups
    assert sorted(LLM_IDS) in groups


def test_theme_text_lists_titles():
    briefing = write_offline(radar("en"), DAY, real_papers())
    theme = next(t for t in briefing.themes if sorted(t.paper_ids) == sorted(LLM_IDS))
    assert "Uncertainty Distillation: Teaching Language Models to Express Semantic Confidence" in theme.text
    assert theme.text.startswith("4 papers deal with")


def test_cross_domain_note():
    papers = real_papers()
    by_id = {paper.paper_id: paper for paper in papers}
    briefing = write_offline(radar("en"), DAY, papers)
    for theme in briefing.themes:
        primaries = {by_id[i].feed_category for i in theme.paper_ids}
        assert ("Cross-domain" in theme.text) == (len(primaries) > 1), theme.title


def test_cross_domain_by_source():
    papers = [
        synthetic_paper(1, 2.0, title="Plant stress imaging"),
        synthetic_paper(2, 1.0, title="Plant stress imaging in fields", categories=[], source_label="Nature", feed_category=None),
    ]
    theme = write_offline(radar("en"), DAY, papers).themes[0]
    assert theme.text.endswith("Cross-domain: these papers come from cs.LG, Nature.")


def test_cross_domain_note_zh():
    briefing = write_offline(radar("zh-CN"), DAY, real_papers())
    theme = next(t for t in briefing.themes if sorted(t.paper_ids) == sorted(LLM_IDS))
    assert "跨领域" in theme.text
    assert "cs.HC" in theme.text


def test_reading_list_by_score():
    papers = real_papers()
    papers.reverse()
    briefing = write_offline(radar("en"), DAY, papers)
    expected = [paper.paper_id for paper in sorted(papers, key=lambda p: -p.score)]
    assert [item.paper_id for item in briefing.reading_list] == expected


def test_reading_list_follows_checked_rank():
    """A model check moves a paper judged off topic to the last rank, whatever its score."""
    papers = [synthetic_paper(1, 0.9, rank=3), synthetic_paper(2, 0.8, rank=1), synthetic_paper(3, 0.7, rank=2)]
    briefing = write_offline(radar("en"), DAY, papers)
    assert [item.paper_id for item in briefing.reading_list] == ["arxiv:2599.00002", "arxiv:2599.00003", "arxiv:2599.00001"]


def test_reading_list_max_ten():
    papers = [synthetic_paper(i, score=100.0 - i) for i in range(1, 13)]
    briefing = write_offline(radar("en"), DAY, papers)
    assert len(briefing.reading_list) == 10
    assert briefing.reading_list[-1].paper_id == "arxiv:2599.00010"
    assert len(briefing.input_ids) == 12


def test_why_first_sentence_and_reasons():
    briefing = write_offline(radar("en"), DAY, real_papers())
    first = briefing.reading_list[0]
    assert first.paper_id == "arxiv:2503.14558"
    assert first.why.startswith(
        "Point cloud (PC) processing tasks-such as completion, upsampling, denoising, and "
        "colorization-are crucial in applications like autonomous driving and 3D reconstruction. "
    )
    assert "Despite substantial advancements" not in first.why
    assert first.why.endswith('Matched on title: "diffusion".')


def test_why_keeps_abbreviation():
    paper = synthetic_paper(1, 1.0, abstract="Tools, e.g. parsers, fail often. They also drift.")
    briefing = write_offline(radar("en"), DAY, [paper])
    assert briefing.reading_list[0].why.startswith("Tools, e.g. parsers, fail often. Matched on")


def test_why_long_sentence_shortened():
    paper = synthetic_paper(1, 1.0, abstract="word " * 200)
    why = write_offline(radar("en"), DAY, [paper]).reading_list[0].why
    assert "…" in why
    assert len(why.split("…")[0]) <= 240


def test_update_marked():
    papers = [synthetic_paper(1, 2.0, is_update=True, version=3), synthetic_paper(2, 1.0)]
    briefing = write_offline(radar("en"), DAY, papers)
    assert briefing.reading_list[0].why.startswith("[Updated, v3] Synthetic abstract 1.")
    assert not briefing.reading_list[1].why.startswith("[Updated")
    assert "1 of them is a new version" in briefing.headline


def test_update_marked_zh():
    papers = [synthetic_paper(1, 2.0, is_update=True, version=2)]
    briefing = write_offline(radar("zh-CN"), DAY, papers)
    assert briefing.reading_list[0].why.startswith("【新版本 v2】")
    assert "其中 1 篇是已报道论文的新版本" in briefing.headline


def test_zero_papers_en():
    briefing = write_offline(radar("en"), DAY, [])
    assert briefing.headline.startswith("No paper matched the radar")
    assert briefing.themes == []
    assert briefing.reading_list == []
    assert briefing.cited_ids == []
    assert briefing.input_ids == []


def test_zero_papers_zh():
    briefing = write_offline(radar("zh-CN"), DAY, [])
    assert briefing.headline.startswith("2025年3月20日没有论文与雷达")
    assert briefing.themes == []


def test_one_paper_no_themes():
    briefing = write_offline(radar("en"), DAY, [synthetic_paper(1, 1.0)])
    assert briefing.headline.startswith("1 paper matched")
    assert briefing.themes == []
    assert len(briefing.reading_list) == 1


def test_markdown_lists_titles():
    papers = real_papers()
    briefing = write_offline(radar("en"), DAY, papers)
    html = MarkdownIt().render(to_markdown(briefing, papers))
    by_id = {paper.paper_id: paper for paper in papers}
    for item in briefing.reading_list:
        # markdown-it escapes & < > " in text, and the real titles contain none of them.
        assert by_id[item.paper_id].title in html, item.paper_id


def test_markdown_generator_label():
    papers = real_papers()
    markdown = to_markdown(write_offline(radar("en"), DAY, papers), papers)
    assert "Written offline by the extractive writer (offline-5), without a language model." in markdown
    assert "## Reading list" in markdown
    assert "## Themes" in markdown


def test_markdown_headings_zh():
    papers = real_papers()
    markdown = to_markdown(write_offline(radar("zh-CN"), DAY, papers), papers)
    assert "## 阅读清单" in markdown
    assert "## 主题" in markdown
    assert "本简报由离线摘录程序撰写" in markdown


def test_markdown_citations_link():
    papers = real_papers()
    markdown = to_markdown(write_offline(radar("en"), DAY, papers), papers)
    assert "[[1]](https://arxiv.org/abs/2503.14558)" in markdown
    html = MarkdownIt().render(markdown)
    assert '<a href="https://arxiv.org/abs/2503.14558">[1]</a>' in html
    assert "1. **[SuperPC: A Single Diffusion Model" in markdown


def test_markdown_escapes_html():
    paper = synthetic_paper(1, 1.0, title="<script>alert(1)</script> [click](javascript:x)", link="javascript:alert(1)")
    html = MarkdownIt().render(to_markdown(write_offline(radar("en"), DAY, [paper]), [paper]))
    assert "<script>" not in html
    assert "javascript:" not in html.replace("(javascript:x)", "")
    assert 'href="javascript' not in html


def test_json_serializable():
    papers = real_papers()
    data = to_json(write_offline(radar("en"), DAY, papers), papers)
    decoded = json.loads(json.dumps(data, ensure_ascii=False))
    assert decoded["day"] == "2025-03-20"
    assert decoded["generator"] == "offline"
    assert decoded["papers"][0]["announced_day"] == "2025-03-20"
    assert len(decoded["papers"]) == 9


def test_latex_title_survives_markdown_and_site():
    from hub_pipeline.lib.site.briefing_html import render_briefing_markdown

    # The title of arXiv 2503.15457 in the 2025-03-20 cs.CV feed.
    paper = synthetic_paper(1, 1.0, title="Di$\\mathtt{[M]}$O: Distilling Masked Diffusion Models into One-step Generator")
    markdown = to_markdown(write_offline(radar("en"), DAY, [paper]), [paper])
    html = str(render_briefing_markdown(markdown))
    assert "Di$\\mathtt{[M]}$O" in markdown
    assert '<span class="math">$\\mathtt{[M]}$</span>' in html
    assert "\\[M\\]" not in html


def test_cross_domain_one_link_per_fields():
    # Two terms link cs.CV with eess.IV through different papers; only the better link is kept.
    cv = {"categories": ["cs.CV"], "source_label": "arXiv (cs.CV)", "feed_category": "cs.CV"}
    iv = {"categories": ["eess.IV"], "source_label": "arXiv (eess.IV)", "feed_category": "eess.IV"}
    papers = [
        synthetic_paper(1, 4.0, title="Ultrasound video synthesis", **cv),
        synthetic_paper(2, 3.0, title="Ultrasound video segmentation", **iv),
        synthetic_paper(3, 2.0, title="Dermoscopy lesion grading", **cv),
        synthetic_paper(4, 1.0, title="Dermoscopy lesion detection", **iv),
    ]
    links = write_offline(radar("en"), DAY, papers).cross_domain
    assert [link.title for link in links] == ["cs.CV × eess.IV"]


def test_web_addresses_name_no_theme():
    # Two papers of one lab whose only shared wording is the address of their code.
    code = "Code is available at github.com/MedAITech/U_I2V and https://github.com/MedAITech/Echo."
    papers = [
        synthetic_paper(1, 3.0, title="Ultrasound image-to-video synthesis", abstract=f"We animate frames. {code}", reasons=[]),
        synthetic_paper(2, 2.0, title="Few-shot medical video object segmentation", abstract=f"We segment organs. {code}", reasons=[]),
    ]
    titles = [theme.title.lower() for theme in write_offline(radar("en"), DAY, papers).themes]
    assert not any("github" in title for title in titles), titles
    assert not any("medaitech" in title for title in titles), titles
    assert not any("com" in title.split() for title in titles), titles
