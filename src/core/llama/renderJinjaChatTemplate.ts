import { Template } from '@huggingface/jinja';
import type { ChatTurn } from '../../shared/datasetTypes.ts';

const compiled = new Map<string, Template>();

/**
 * Renders a model's own Jinja chat template (`tokenizer.chat_template`) the way Hugging Face's
 * `apply_chat_template` does, default system prompts included (e.g. Llama-3.1's "Cutting Knowledge
 * Date" block, which the paper's fixed t0 = 31 counts). Throws when the template does not parse
 * or render.
 */
export function renderJinjaChatTemplate(template: string, turns: readonly ChatTurn[], options: { addAssistant: boolean; bosToken: string; eosToken: string }): string {
  let compiledTemplate = compiled.get(template);
  if (compiledTemplate === undefined) {
    compiledTemplate = new Template(template);
    compiled.set(template, compiledTemplate);
  }
  return compiledTemplate.render({
    messages: turns.map((turn) => ({ role: turn.role, content: turn.content })),
    add_generation_prompt: options.addAssistant,
    bos_token: options.bosToken,
    eos_token: options.eosToken,
    // Thinking-style templates (Qwen3 and later) close an empty reasoning block when this is false,
    // so generation answers at once; templates without the switch ignore it.
    enable_thinking: false,
  });
}
