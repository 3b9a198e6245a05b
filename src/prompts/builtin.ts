/**
 * Built-in templates. The `iap-as` texts are the reference's (docs/method.md §1, step 4), word for word;
 * `iap-as-industrial` is the reference code's industrial variant (`process_anomaly_tags_2_sy`).
 * The reference code wraps its user text after "{object_tag}. " with a newline and indentation
 * inside a Python triple-quoted string; here, as in docs/method.md, the two sentences are joined by one
 * space.
 */
import type { TemplateSpecInput } from './template.js';

const REFERENCE_SYSTEM = "The assistant should always answer only by listing lowercase words in the following format: 'word, word'";

export const BUILTIN_TEMPLATES: TemplateSpecInput[] = [
  {
    name: 'iap-as',
    version: '1',
    description: 'IAP-AS reference prompt (Meta-Llama-3-8B-Instruct in the paper)',
    system: REFERENCE_SYSTEM,
    user:
      'I would like to extract words to enter into the object detection model to find abnormal parts of {object_tag}. ' +
      'Please write down non-redundant anomalous nouns that can appear in {object_tag} images.',
    variables: ['object_tag'],
    parser: 'nouns',
  },
  {
    name: 'iap-as-industrial',
    version: '1',
    description: "the reference code's industrial variant of the IAP-AS prompt",
    system: REFERENCE_SYSTEM,
    user:
      'I would like to extract words to enter into the object detection model to find abnormal parts of {object_tag} for industrial anomaly detection. ' +
      'Please write down non-redundant industrial anomalous nouns that can appear in {object_tag} images.',
    variables: ['object_tag'],
    parser: 'nouns',
  },
  {
    name: 'json-nouns',
    version: '1',
    description: 'asks for a JSON array of nouns (pairs well with --json-grammar)',
    system: 'The assistant always answers only with a JSON array of lowercase nouns, for example ["scratch", "crack"].',
    user:
      'I would like to extract words to enter into the object detection model to find abnormal parts of {object_tag}. ' +
      'Write a JSON array of non-redundant anomalous nouns that can appear in {object_tag} images.',
    variables: ['object_tag'],
    parser: 'json-nouns',
  },
];
